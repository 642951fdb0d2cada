"""The delivery commands as a user runs them: digest, outbox (list, retry, send), preview,
send-test. Real SQLite state, real receivers on loopback, the real clock."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store import Store, open_store
from tests.deliverykit import HOOK_PATH, SECRET, SLACK_PATH, Newsroom
from tests.farm import Farm, Reply
from tests.pipeline_kit import json_lines, run_cli
from tests.receivers import HOST, Scripted, SmtpReceiver

STORY = ("Hamas officials back in Damascus", "Two senior Hamas officials visited Damascus today.")


def setup(tmp_path: Path, farm: Farm, smtp_port: int) -> tuple[str, Store]:
    """A config with a daily digest to mail, Slack and a webhook; its store, one story queued."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""
storage: sqlite:///{tmp_path / "state" / "monitor.db"}
http: {{allow_networks: ["127.0.0.1/32"], timeout: 3s}}
rules:
  - {{name: hamas-damascus, query: hamas NEAR/30 damascus, notify: [daily]}}
digests:
  - {{name: daily, schedule: "0 7 * * *", channels: [mail, slack, hook]}}
channels:
  mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, tls: none, from: m@example.org,
          to: [desk@example.org], timeout: 3s}}
  slack: {{type: slack, webhook_url: "{farm.url(SLACK_PATH)}"}}
  hook: {{type: webhook, url: "{farm.url(HOOK_PATH)}", secret: "{SECRET}"}}
""",
        encoding="utf-8",
    )
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    Newsroom(store).queue(*STORY)
    return str(config), store


@pytest.fixture
def down_port() -> Iterator[int]:
    """A port that is bound but not listening: connections to it are refused."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        yield int(s.getsockname()[1])


def test_a_dead_letter_is_listed_requeued_and_then_delivered(farm: Farm, tmp_path: Path) -> None:
    slack = Scripted([Reply(404, {}, b"no_service")])  # a revoked webhook: permanent
    hook = Scripted([Reply(204)])
    farm.add_handler(SLACK_PATH, slack)
    farm.add_handler(HOOK_PATH, hook)
    with SmtpReceiver() as smtp:
        cfg, store = setup(tmp_path, farm, smtp.port)
        run = run_cli("digest", "daily", "--now", "-c", cfg)
        assert run.exit_code == 1
        assert "slack: dead letter" in run.output
        assert "HTTP 404" in run.output
        assert run.output.count("delivered") == 2

        listing = run_cli("outbox", "-c", cfg)
        [dead] = json_lines(run_cli("outbox", "-c", cfg, "--json").stdout)
        assert (dead["state"], dead["channel"], dead["digest"]) == ("dead", "slack", "daily")
        assert f"#{dead['id']} dead" in listing.output
        assert "1 dead" in listing.output
        assert "last dead-letter notice" in listing.output
        assert run_cli("outbox", "retry", "999", "-c", cfg).exit_code == 1

        slack.replies = [Reply(200, {}, b"ok")]  # the webhook was fixed
        retry = run_cli("outbox", "retry", "--dead", "-c", cfg)
        assert retry.exit_code == 0
        assert "1 message(s) queued again" in retry.output
        send = run_cli("outbox", "send", "-c", cfg)
        assert send.exit_code == 0, send.output
        assert "daily → slack: delivered" in send.output

    assert json_lines(run_cli("outbox", "-c", cfg, "--json").stdout) == []
    assert store.outbox_counts()["delivered"] == 3
    assert (len(smtp.messages), len(hook.requests), len(slack.requests)) == (1, 1, 2)
    store.close()


def test_an_smtp_server_that_is_down_leaves_the_mail_to_retry(
    farm: Farm, tmp_path: Path, down_port: int
) -> None:
    farm.add_handler(SLACK_PATH, Scripted([Reply(200, {}, b"ok")]))
    farm.add_handler(HOOK_PATH, Scripted([Reply(204)]))
    cfg, store = setup(tmp_path, farm, down_port)

    run = run_cli("digest", "daily", "--now", "-c", cfg)

    assert run.exit_code == 1
    assert "mail: will retry in" in run.output
    [row] = json_lines(run_cli("outbox", "-c", cfg, "--json").stdout)
    assert (row["state"], row["channel"], row["attempts"]) == ("retrying", "mail", 1)
    assert "connection failed" in row["last_error"]
    store.close()


def test_preview_writes_files_and_consumes_nothing(farm: Farm, tmp_path: Path) -> None:
    slack, hook = Scripted([Reply(200, {}, b"ok")]), Scripted([Reply(204)])
    farm.add_handler(SLACK_PATH, slack)
    farm.add_handler(HOOK_PATH, hook)
    cfg, store = setup(tmp_path, farm, 1)
    out = tmp_path / "preview"

    result = run_cli("preview", "-c", cfg, "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "1 pending item(s), 1 story(ies)" in result.output
    assert STORY[0] in (out / "daily.html").read_text()
    assert STORY[0] in (out / "daily.txt").read_text()
    assert "Subject: " in (out / "daily.eml").read_text()
    assert json.loads((out / "daily.slack.json").read_text())[0]["blocks"]
    assert json.loads((out / "daily.webhook.json").read_text())["data"]["digest"] == "daily"
    assert len(store.pending_digest("daily")) == 1
    assert store.outbox_counts() == {"pending": 0, "leased": 0, "delivered": 0, "dead": 0}
    assert (slack.requests, hook.requests) == ([], [])

    run_cli("digest", "daily", "--now", "-c", cfg)  # mail fails (port 1); the rest is sent
    sample = run_cli("preview", "-c", cfg, "--out", str(out), "--digest", "daily")
    assert "nothing pending: sample stories" in sample.output
    assert "Hamas delegation in Damascus" in (out / "daily.txt").read_text()
    assert run_cli("preview", "-c", cfg, "--digest", "weekly").exit_code == 1
    store.close()


def test_send_test_reports_each_channel(farm: Farm, tmp_path: Path) -> None:
    farm.add_handler(SLACK_PATH, Scripted([Reply(403, {}, b"invalid_token")]))
    hook = Scripted([Reply(204)])
    farm.add_handler(HOOK_PATH, hook)
    with SmtpReceiver() as smtp:
        cfg, store = setup(tmp_path, farm, smtp.port)
        result = run_cli("send-test", "-c", cfg)
        only_mail = run_cli("send-test", "-c", cfg, "--channel", "mail")

    assert result.exit_code == 1
    assert "mail: sent" in result.output
    assert "hook: sent" in result.output
    assert "slack: failed (permanent)" in result.output
    assert only_mail.exit_code == 0
    assert len(smtp.messages) == 2
    assert smtp.messages[0].message["Subject"].startswith("monitor test message")
    assert len(hook.requests) == 1
    assert store.outbox_counts()["pending"] == 0  # a test message never enters the outbox
    assert len(store.pending_digest("daily")) == 1
    store.close()
