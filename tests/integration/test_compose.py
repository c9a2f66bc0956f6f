"""docker-compose.yml, the Dockerfile and the proxy config, checked without Docker.

Compose cannot run here, so the files are parsed and held to what the service
actually accepts: every FRICTION_* name is a real setting, every command parses
with the real CLI parser, every named volume is declared.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from friction.cli import build_parser
from friction.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTING_NAMES = {f"FRICTION_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_the_stack_has_its_services_on_the_right_images(compose: dict[str, Any]) -> None:
    s = services(compose)
    assert set(s) >= {"friction", "proxy", "redis", "kafka", "sink", "retrainer"}
    assert s["redis"]["image"].startswith("redis:")
    assert s["kafka"]["image"].startswith("apache/kafka:")
    assert s["proxy"]["image"].startswith("nginx:")
    for name in ("friction", "sink", "retrainer"):
        assert s[name]["image"] == "friction:latest"
    assert s["friction"]["build"] == "."


def test_two_replicas_behind_the_proxy_which_alone_publishes_a_port(
    compose: dict[str, Any],
) -> None:
    s = services(compose)
    assert s["friction"]["deploy"]["replicas"] == 2
    assert "ports" not in s["friction"]  # replicas would clash on a host port
    assert s["proxy"]["ports"] == ["8080:8080"]
    mount = s["proxy"]["volumes"][0].split(":")
    assert (ROOT / mount[0]).is_file() and mount[1] == "/etc/nginx/nginx.conf"
    conf = (ROOT / mount[0]).read_text()
    assert "server friction:8080" in conf and "listen 8080" in conf


def test_redis_keeps_an_append_only_file_and_kafka_runs_kraft(compose: dict[str, Any]) -> None:
    s = services(compose)
    command = " ".join(s["redis"]["command"])
    assert "--appendonly yes" in command
    env = s["kafka"]["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "KAFKA_CONTROLLER_QUORUM_VOTERS" in env
    assert not any("ZOOKEEPER" in key for key in env) and "zookeeper" not in s
    topics = " ".join(s["kafka-topics"]["command"])
    assert all(topic in topics for topic in ("decisions", "dialogues", "labels"))


def test_volumes_are_declared_and_long_running_services_have_healthchecks(
    compose: dict[str, Any],
) -> None:
    declared = set(compose["volumes"])
    for name, service in services(compose).items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source.startswith("./") or source in declared, (name, source)
        one_shot = service.get("restart") == "no"
        assert one_shot or "healthcheck" in service, f"{name} has no healthcheck"
    s = services(compose)
    assert "redis-data:/data" in s["redis"]["volumes"]
    assert any(m.startswith("dataset:") for m in s["sink"]["volumes"])
    assert "dataset:/dataset:ro" in s["retrainer"]["volumes"]
    assert s["retrainer"]["profiles"] == ["retrain"]


def test_every_friction_env_name_is_a_real_setting(compose: dict[str, Any]) -> None:
    used: set[str] = set()
    for service in services(compose).values():
        used |= {k for k in service.get("environment") or {} if k.startswith("FRICTION_")}
    text = (ROOT / "Dockerfile").read_text()
    used |= set(re.findall(r"\b(FRICTION_[A-Z_]+)=", text))
    assert used, "no FRICTION_* settings found"
    assert used <= SETTING_NAMES, sorted(used - SETTING_NAMES)
    env = services(compose)["friction"]["environment"]
    assert env["FRICTION_STORE"].startswith("redis://redis:")
    assert env["FRICTION_BUS"].startswith("kafka://kafka:")


def test_every_command_is_a_real_cli_invocation(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name in ("friction", "sink", "retrainer"):
        command = services(compose)[name]["command"]
        assert command[0] == "friction", name
        parser.parse_args(command[1:])  # exits (fails the test) on an unknown option


def test_dockerfile_is_slim_non_root_installs_the_package_and_serves() -> None:
    text = (ROOT / "Dockerfile").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert instructions[0] == "FROM python:3.11-slim"
    assert "RUN pip install ." in instructions
    user = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    cmd = next(line for line in instructions if line.startswith("CMD "))
    argv = json.loads(cmd.removeprefix("CMD "))
    assert argv[0] == "friction"
    build_parser().parse_args(argv[1:])
    assert shlex.join(argv) == "friction serve"
