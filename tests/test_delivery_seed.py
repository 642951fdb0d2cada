"""The seed story from feed to inboxes: ``monitor once``, then the digests, over real servers.

A loopback farm serves the feed and the seed page (the story wrapped in a donation appeal);
the digests go to a real SMTP server (aiosmtpd), a Slack-like and a webhook receiver. What
arrives is checked as its receiver would check it: the e-mail's parts, Block Kit models
(slack_sdk), the Standard Webhooks signature (the reference library).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from standardwebhooks import Webhook

from tests.deliverykit import HOOK_PATH, SECRET, SLACK_PATH
from tests.farm import Farm, Reply
from tests.pipeline_kit import RULES, json_lines, run_cli, write_config
from tests.receivers import Scripted, SmtpReceiver
from tests.test_pipeline_seed import serve_seed

TITLE = "Militant Hamas group back in Damascus after years of tension"
OK = Reply(200, {"Content-Type": "text/plain"}, b"ok")
APPEAL = ("Your support", "donation", "Support Now", "paywalls")


def delivery_rules(smtp_port: int, farm: Farm) -> str:
    """The seed rules, with digests to e-mail, Slack and a webhook."""
    rules = RULES.split("digests:")[0]
    return (
        rules
        + f"""
digests:
  - {{name: daily, schedule: "0 7 * * *", timezone: Europe/London, title: Middle East daily,
     channels: [mail, slack, hook]}}
  - {{name: urgent, immediate: true, channels: [slack, hook]}}
channels:
  mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, tls: none,
          from: "Monitor <monitor@example.org>", to: [desk@example.org], timeout: 5s}}
  slack: {{type: slack, webhook_url: "{farm.url(SLACK_PATH)}"}}
  hook: {{type: webhook, url: "{farm.url(HOOK_PATH)}", secret: "{SECRET}"}}
"""
    )


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


def body_of(message: Any, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, subtype
    return str(part.get_content())


def check_email(smtp: SmtpReceiver, farm: Farm) -> None:
    """One message; title, link, source, rule and highlighted snippet in both parts."""
    [received] = smtp.messages
    mail = received.message
    assert received.rcpt_tos == ("desk@example.org",)
    assert mail["Subject"].startswith("Middle East daily")
    assert mail["X-Monitor-Digest"] == "daily"
    html, text = body_of(mail, "html"), body_of(mail, "plain")
    for part in (html, text):
        assert TITLE in part
        assert "independent" in part
        assert "hamas-damascus" in part
        assert farm.url("/seed") in part
        for phrase in APPEAL:
            assert phrase not in part
    assert re.search(r"<mark[^>]*>Hamas</mark>", html)
    assert re.search(r"<mark[^>]*>Damascus</mark>", html)
    assert "*Hamas*" in text
    assert re.search(r"\*Damascus[’']?\*", text)


def check_slack(slack: Scripted) -> None:
    """The daily digest and the urgent alert: valid Block Kit, keyed block ids."""
    assert len(slack.requests) == 2
    for request in slack.requests:
        payload = json.loads(request.body)
        for raw in payload["blocks"]:
            block = Block.parse(raw)
            assert block is not None
            block.validate_json()
        assert payload["blocks"][0]["block_id"].startswith("digest:")
    payloads = [json.loads(r.body) for r in slack.requests]
    [daily] = [p for p in payloads if p["blocks"][0]["block_id"].startswith("digest:daily@")]
    assert TITLE in json.dumps(daily, ensure_ascii=False)
    assert daily["blocks"][0]["block_id"].startswith("digest:daily@manual:")


def check_webhook(hook: Scripted, farm: Farm) -> None:
    """Both digests, signed as Standard Webhooks says (checked by the reference library)."""
    assert len(hook.requests) == 2
    bodies = [Webhook(SECRET).verify(r.body, r.headers) for r in hook.requests]
    by_digest = {b["data"]["digest"]: b["data"] for b in bodies if isinstance(b, dict)}
    assert set(by_digest) == {"daily", "urgent"}
    [group] = by_digest["daily"]["groups"]
    [story] = group["stories"]
    assert (story["title"], story["feed"]) == (TITLE, "independent")
    assert story["url"].startswith(farm.url("/seed"))
    assert {"hamas", "damascus"} <= set(story["terms"])
    assert by_digest["urgent"]["groups"][0]["stories"][0]["novel_actors"][0] == "hamas"


def test_the_seed_story_reaches_every_channel_once(
    farm: Farm, smtp: SmtpReceiver, tmp_path: Path
) -> None:
    serve_seed(farm)
    slack, hook = Scripted([OK]), Scripted([Reply(204)])
    farm.add_handler(SLACK_PATH, slack)
    farm.add_handler(HOOK_PATH, hook)
    config = write_config(
        tmp_path, [("independent", farm.url("/feed.xml"))], rules=delivery_rules(smtp.port, farm)
    )
    cfg = str(config)

    assert run_cli("once", "-c", cfg).exit_code == 0  # sends the immediate (urgent) alert
    daily = run_cli("digest", "daily", "--now", "-c", cfg)
    urgent = run_cli("digest", "urgent", "-c", cfg)
    again = run_cli("digest", "daily", "--now", "-c", cfg)

    assert daily.exit_code == 0, daily.output
    assert daily.output.count("delivered") == 3
    assert urgent.exit_code == 0, urgent.output
    assert "nothing pending" in again.output  # the story went out once
    check_email(smtp, farm)
    check_slack(slack)
    check_webhook(hook, farm)
    listing = run_cli("outbox", "-c", cfg, "--json")
    assert listing.exit_code == 0
    assert json_lines(listing.stdout) == []
