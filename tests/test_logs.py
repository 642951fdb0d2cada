"""Logs as an operator meets them: JSON lines on a non-terminal stderr with stable event names
and bound fields, readable text at a terminal, and secrets never written."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config_text
from monitor.logs import bind, config_secrets, configure_logging
from tests.farm import Farm
from tests.opskit import daemon, events, log_lines, wait_for
from tests.pipeline_kit import RULES, rss, seed_story, write_config

SECRET = "s3cr3t-Pa55word-42"
RSS = {"Content-Type": "application/rss+xml"}
MAIL = (
    "  mail: {type: email, host: 127.0.0.1, port: 2525, from: a@example.org,"
    ' to: [b@example.org], username: u, password: "${SMTP_PASSWORD}"}\n'
)


def test_daemon_logs_json_lines_with_events_and_never_the_secret(
    farm: Farm, tmp_path: Path
) -> None:
    farm.add("/good", rss([seed_story()]), headers=RSS)
    farm.add("/bad", b"down", status=500)
    rules = RULES.replace("  files: {type: file, path: digests/}\n", "") + (
        "  files: {type: file, path: digests/}\n" + MAIL + "daemon:\n  tick: 1s\n"
    )
    config = write_config(
        tmp_path,
        [("good", farm.url("/good")), ("bad", farm.url("/bad") + "?key=${SMTP_PASSWORD}")],
        extra_defaults="fetch_articles: false",
        rules=rules,
    )
    log = tmp_path / "daemon.log"
    with daemon(config, log, env={"SMTP_PASSWORD": SECRET}, options=["-vv"]):
        wait_for(lambda: events(log, "feed.failed") and events(log, "feed.polled"), "a poll")

    raw = log.read_text(encoding="utf-8")
    assert SECRET not in raw
    lines = log_lines(log)  # every line is one JSON object
    assert all({"ts", "level", "event", "logger", "message"} <= set(line) for line in lines)
    [failed, *_] = events(log, "feed.failed")
    assert failed["level"] == "warning"
    assert (failed["feed"], failed["kind"]) == ("bad", "status")
    assert "key=***: HTTP 500" in failed["message"]
    assert failed["error"].endswith("key=***: HTTP 500")
    [done] = events(log, "feed.polled")
    assert (done["feed"], done["articles"]) == ("good", 1)
    matched = {(e["feed"], e["rule"]) for e in events(log, "rule.matched")}
    assert matched == {("good", "hamas-damascus"), ("good", "axis-new-alignments")}
    names = {line["event"] for line in lines}
    assert {"daemon.started", "daemon.stopping"} <= names
    # -vv logs each HTTP response, URL included: redacted as well
    requests = [line for line in lines if line["event"] == "http.response"]
    assert any("key=***: 500" in line["message"] for line in requests)
    assert all(line["logger"] == "monitor.http" for line in requests)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """In-process logging tests reconfigure the root logger; put it back afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    yield
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])


@pytest.mark.usefixtures("restore_logging")
def test_a_terminal_gets_readable_lines_with_bound_fields_and_redacted_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(1, json=False, secrets=["hunter2-hunter2"])
    log = bind("monitor.test", feed="bbc", channel="ops")
    try:
        raise RuntimeError("login failed with hunter2-hunter2")
    except RuntimeError:
        log.exception("send failed: %s", "hunter2-hunter2", extra={"event": "outbox.retry"})
    log.debug("not shown at -v")
    text = capsys.readouterr().err
    first = text.splitlines()[0]
    assert " ERROR monitor.test: send failed: ***  [feed=bbc channel=ops]" in first
    assert "RuntimeError: login failed with ***" in text
    assert "hunter2" not in text
    assert "not shown" not in text


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_name_the_event_and_keep_field_types(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(0, json=True, secrets=["tok-123456"])
    logging.getLogger("monitor.test").warning(
        "digest %s queued",
        "daily",
        extra={
            "event": "digest.queued",
            "digest": "daily",
            "items": 3,
            "keys": ["a", "tok-123456"],
        },
    )
    logging.getLogger("some.library").error("no event given")
    first, second = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert first["event"] == "digest.queued"
    assert (first["digest"], first["items"], first["keys"]) == ("daily", 3, ["a", "***"])
    assert first["message"] == "digest daily queued"
    assert (second["event"], second["level"]) == ("some.library", "error")


def test_every_kind_of_secret_in_the_config_is_known() -> None:
    config = load_config_text(
        """
storage: postgresql://monitor:pg-pass-77@db.example.org/monitor
channels:
  mail: {type: email, host: smtp.example.org, from: a@example.org, to: [b@example.org],
         username: u, password: "${SMTP_PASSWORD}"}
  slack: {type: slack, webhook_url: "${SLACK_URL}"}
  hook: {type: webhook, url: "https://example.org/hook", secret: "${HOOK_SECRET}"}
""",
        env={
            "SMTP_PASSWORD": "smtp-pass-1",
            "SLACK_URL": "https://hooks.slack.com/services/T0/B0/xyz",
            "HOOK_SECRET": "whsec_abcdef",
        },
    )
    assert sorted(config_secrets(config)) == sorted(
        [
            "smtp-pass-1",
            "https://hooks.slack.com/services/T0/B0/xyz",
            "whsec_abcdef",
            "pg-pass-77",
        ]
    )
