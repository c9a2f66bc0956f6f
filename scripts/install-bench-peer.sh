#!/usr/bin/env bash
# Install the benchmark's serving peer, MLServer with its XGBoost runtime, into its own
# virtualenv (.test-servers/mlserver-venv, gitignored): MLServer pins its own fastapi,
# uvicorn, pydantic and protobuf versions, which must not clash with friction's .venv.
# Idempotent; `loadtest/bench.py` marks the peer "unavailable" when this was not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.test-servers/mlserver-venv"
MLSERVER_VERSION="1.7.1"
PYTHON="${PYTHON:-python3}"

log() { printf 'install-bench-peer: %s\n' "$*"; }

if [ -x "$VENV/bin/mlserver" ] && "$VENV/bin/python" -c "import mlserver_xgboost" 2>/dev/null \
  && "$VENV/bin/python" -c "import uvloop, sys; sys.exit(tuple(map(int, uvloop.__version__.split('.')[:2])) >= (0, 22))"; then
  log "present: $("$VENV/bin/mlserver" --version 2>/dev/null || echo mlserver)"
  exit 0
fi
log "creating $VENV with $("$PYTHON" --version)"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
log "installing mlserver==$MLSERVER_VERSION mlserver-xgboost==$MLSERVER_VERSION"
# uvloop>=0.22 no longer creates a loop in asyncio.get_event_loop(), which MLServer 1.7.1's
# inference-pool workers call at start: they crash and the model never loads.
"$VENV/bin/python" -m pip install -q "mlserver==$MLSERVER_VERSION" "mlserver-xgboost==$MLSERVER_VERSION" "uvloop<0.22"
"$VENV/bin/python" -c "import mlserver, mlserver_xgboost, xgboost; print('mlserver', mlserver.__version__, 'xgboost', xgboost.__version__)"
log "done"
