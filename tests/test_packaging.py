"""Packaging: what can be checked of the Dockerfile, docker-compose.yml, docker/config.yaml
and the systemd unit without a Docker engine or systemd running them."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from monitor.cli import main
from monitor.config import load_config
from tests.conftest import ROOT

STATE = "/var/lib/monitor"
CONFIG = "/etc/monitor/config.yaml"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
    return data


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    out, pending = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def instructions(name: str) -> list[str]:
    return [args for word, args in dockerfile() if word == name]


def unit() -> dict[str, list[str]]:
    """``Key`` → every value given in the systemd unit (keys may repeat)."""
    values: dict[str, list[str]] = {}
    for raw in (ROOT / "docs" / "monitor.service").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def parses(argv: list[str]) -> None:
    """``argv`` is a valid ``monitor`` command line (options parsed, nothing run)."""
    assert argv[0] == "monitor"
    command = main.commands[argv[1]]
    command.make_context(argv[1], argv[2:], parent=click.Context(main))


def test_compose_runs_monitor_with_init_healthcheck_state_and_config() -> None:
    services = compose()["services"]
    monitor = services["monitor"]
    assert monitor["init"] is True
    assert monitor["healthcheck"]["test"][1:3] == ["monitor", "healthcheck"]
    parses(monitor["healthcheck"]["test"][1:])
    parses(monitor["command"])
    volumes = [v.split(":") for v in monitor["volumes"]]
    state = [v for v in volumes if v[1] == STATE]
    assert state, "no volume at the state directory"
    assert state[0][0] in compose()["volumes"], "the state volume is not a named volume"
    config = [v for v in volumes if v[1] == str(Path(CONFIG).parent)]
    assert config, "the config directory is not mounted"
    assert config[0][2:] == ["ro"]
    assert (ROOT / config[0][0] / "config.yaml").is_file()
    grace = load_config(ROOT / "docker" / "config.yaml").config.daemon.shutdown_grace
    assert int(monitor["stop_grace_period"].rstrip("s")) > grace.total_seconds()


def test_compose_has_mailpit_and_the_config_mails_it() -> None:
    services = compose()["services"]
    mailpit = services["mailpit"]
    assert "mailpit" in mailpit["image"]
    assert any(str(p).endswith(":8025") for p in mailpit["ports"])
    assert services["monitor"]["depends_on"]["mailpit"]["condition"] == "service_healthy"
    channels = load_config(ROOT / "docker" / "config.yaml").config.channels
    email = [c for c in channels.values() if c.type == "email"]
    assert [(c.host, c.port, c.tls) for c in email] == [("mailpit", 1025, "none")]
    assert any(c.type == "file" for c in channels.values())


def test_docker_config_passes_check_and_keeps_state_in_the_volume() -> None:
    path = ROOT / "docker" / "config.yaml"
    result = CliRunner().invoke(main, ["check", "-c", str(path)])
    assert result.exit_code == 0, result.output
    config = load_config(path).config
    assert config.storage.startswith(f"sqlite:///{STATE}/")
    files = [c for c in config.channels.values() if c.type == "file"]
    assert all(str(c.path).startswith(STATE) for c in files)
    for digest in config.digests:
        assert {"files", "mailpit"} <= set(digest.channels)
    assert config.http.listen == "0.0.0.0:9464"
    assert "9464" in instructions("EXPOSE")[0].split()


def test_docker_config_watches_the_same_news_as_the_example_config() -> None:
    ours = load_config(ROOT / "docker" / "config.yaml").config
    example = load_config(ROOT / "config.yaml").config
    assert ours.feeds == example.feeds
    assert ours.entities == example.entities
    assert ours.rules == example.rules
    assert [d.name for d in ours.digests] == [d.name for d in example.digests]


def test_dockerfile_runs_the_daemon_as_a_user_with_a_healthcheck() -> None:
    assert instructions("FROM")[-1] == "python:3.11-slim"
    cmd = json.loads(instructions("CMD")[-1])
    assert cmd[:2] == ["monitor", "run"]
    parses(cmd)
    assert not instructions("ENTRYPOINT")
    assert cmd == compose()["services"]["monitor"]["command"]
    health = instructions("HEALTHCHECK")[-1]
    options, _, exec_form = health.partition(" CMD ")
    probe = json.loads(exec_form)
    assert probe[:2] == ["monitor", "healthcheck"]
    parses(probe)
    assert "--interval=" in options
    assert instructions("USER")[-1].split(":")[0] not in ("root", "0")
    assert json.loads(instructions("VOLUME")[-1]) == [STATE]
    assert instructions("STOPSIGNAL") == ["SIGTERM"]
    assert f"MONITOR_CONFIG={CONFIG}" in " ".join(instructions("ENV"))


def test_dockerfile_copies_only_what_exists_and_is_in_the_build_context() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for args in instructions("COPY"):
        parts = [p for p in args.split() if not p.startswith("--")]
        if "--from=" not in args:
            sources += parts[:-1]
    assert {"pyproject.toml", "README.md", "monitor", "docker/config.yaml"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source
    assert any(fnmatch.fnmatch(".venv", pattern) for pattern in ignored)


def test_systemd_unit_reloads_and_does_not_restart_on_config_errors() -> None:
    u = unit()
    assert u["Type"] == ["simple"]
    start = u["ExecStart"][0].split()
    assert start[0] == "/opt/monitor/.venv/bin/monitor"
    parses(["monitor", *start[1:]])
    assert start[1:] == ["run", "-c", CONFIG]
    assert u["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert u["Restart"] == ["on-failure"]
    assert u["RestartPreventExitStatus"] == ["78"]
    assert u["User"][0] not in ("root", "0")
    assert u["StateDirectory"] == ["monitor"]
    assert u["ReadWritePaths"] == [STATE]
    for key, value in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("PrivateTmp", "yes"),
    ]:
        assert u[key] == [value]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "monitor.service").read_text()
    # verify also checks that ExecStart exists; the virtualenv is not installed here
    path = tmp_path / "monitor.service"
    path.write_text(text.replace("/opt/monitor/.venv/bin/monitor", "/bin/true"))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "monitor.service" not in done.stderr, done.stderr
