"""The Slack channel against a real HTTP receiver on loopback; payloads checked by slack_sdk."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from monitor.channels.slack import SlackChannel
from monitor.config import schema
from monitor.config.schema import HttpSettings
from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.http import HttpClient
from monitor.model import Message
from tests.digestkit import entry, message_for, simple_message
from tests.farm import Farm, Reply
from tests.receivers import Scripted

KEY = "digest:daily:2023-10-10:slack"
OK = Reply(200, {"Content-Type": "text/plain"}, b"ok")
LOOPBACK = HttpSettings.model_validate({"allow_networks": ["127.0.0.1/32"]})


def post_all(
    farm: Farm,
    replies: list[Reply],
    messages: list[Message],
    *,
    min_interval: float = 0.0,
    settings: HttpSettings = LOOPBACK,
) -> tuple[Scripted, list[BaseException | None]]:
    """Send ``messages`` in turn through one channel; the outcome of each send."""
    hook = Scripted(replies)
    farm.add_handler("/services/T0/B0/secret", hook)
    config = schema.SlackChannel.model_validate(
        {"type": "slack", "webhook_url": farm.url("/services/T0/B0/secret")}
    )

    async def main() -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        async with HttpClient(settings) as http:
            channel = SlackChannel("team-slack", config, http, min_interval=min_interval)
            for message in messages:
                try:
                    await channel.send(message, KEY)
                    outcomes.append(None)
                except (TransientDeliveryError, PermanentDeliveryError) as exc:
                    outcomes.append(exc)
        return outcomes

    return hook, asyncio.run(main())


def payloads(hook: Scripted) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in hook.requests]


def assert_valid_block_kit(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= 50
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()  # raises on any limit (3,000 per section, 150 per header, ...)


def many_stories(count: int) -> Message:
    entries = [
        entry(
            i, f"Story number {i} about hamas", f"Unique body {i} " + "word " * i, feed=f"feed{i}"
        )
        for i in range(1, count + 1)
    ]
    return message_for(entries, max_stories=1000)


def test_posts_block_kit_with_the_key_in_a_block_id(farm: Farm) -> None:
    hook, [outcome] = post_all(farm, [OK], [simple_message()])
    assert outcome is None
    [payload] = payloads(hook)
    assert hook.requests[0].headers["content-type"].startswith("application/json")
    assert_valid_block_kit(payload)
    assert payload["blocks"][0]["block_id"] == f"{KEY}#1"
    texts = json.dumps(payload)
    assert "Hamas officials visit Damascus" in texts


def test_a_long_digest_is_split_within_slack_limits_and_paced(farm: Farm) -> None:
    message = many_stories(130)
    assert len(message.slack) == 3
    hook, [outcome] = post_all(farm, [OK], [message], min_interval=0.2)
    assert outcome is None
    sent = payloads(hook)
    assert len(sent) == 3
    for part, payload in enumerate(sent, start=1):
        assert_valid_block_kit(payload)
        assert payload["blocks"][0]["block_id"] == f"{KEY}#{part}"
    assert "continued, 2/3" in sent[1]["blocks"][0]["elements"][0]["text"]
    titles = [
        b["text"]["text"] for p in sent for b in p["blocks"] if "Story number" in json.dumps(b)
    ]
    assert len(titles) == 130
    gaps = [b - a for a, b in zip(hook.times, hook.times[1:], strict=False)]
    assert min(gaps) >= 0.19


def test_a_retry_resumes_after_the_parts_already_posted(farm: Farm) -> None:
    message = many_stories(130)
    replies = [OK, Reply(500, {}, b"oops"), OK]
    hook, outcomes = post_all(farm, replies, [message, message])
    assert isinstance(outcomes[0], TransientDeliveryError)
    assert outcomes[1] is None
    ids = [p["blocks"][0]["block_id"] for p in payloads(hook)]
    assert ids == [f"{KEY}#1", f"{KEY}#2", f"{KEY}#2", f"{KEY}#3"]


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (Reply(429, {"Retry-After": "7"}, b"rate_limited"), TransientDeliveryError, 7.0),
        (Reply(500, {}, b"server_error"), TransientDeliveryError, None),
        (Reply(400, {}, b"invalid_blocks"), PermanentDeliveryError, None),
        (Reply(404, {}, b"no_service"), PermanentDeliveryError, None),
        (Reply(200, {}, b"<html>captive portal</html>"), PermanentDeliveryError, None),
    ],
)
def test_failures(
    farm: Farm, reply: Reply, error: type[Exception], retry_after: float | None
) -> None:
    _, [outcome] = post_all(farm, [reply], [simple_message()])
    assert isinstance(outcome, error)
    assert "/services/T0/B0/secret" not in str(outcome)
    assert outcome.__cause__ is None  # the HTTP error names the URL: kept out of tracebacks
    assert outcome.__context__ is None or outcome.__suppress_context__
    if isinstance(outcome, TransientDeliveryError):
        assert outcome.retry_after == retry_after


def test_the_address_guard_applies(farm: Farm) -> None:
    hook, [outcome] = post_all(farm, [OK], [simple_message()], settings=HttpSettings())
    assert isinstance(outcome, PermanentDeliveryError)
    assert "blocked" in str(outcome)
    assert "/services/T0/B0/secret" not in str(outcome)
    assert hook.requests == []


def test_article_text_cannot_mention_or_forge_links(farm: Farm) -> None:
    title = "<!channel> alert @here & <https://evil.example|click> <@U024BE7LH>"
    message = message_for(
        [entry(1, title, "Hamas says <!everyone> @channel read <http://evil.example|this>")]
    )
    hook, [outcome] = post_all(farm, [OK], [message])
    assert outcome is None
    [payload] = payloads(hook)
    assert_valid_block_kit(payload)
    story = next(b["text"]["text"] for b in payload["blocks"] if "alert" in json.dumps(b))
    assert "&lt;!channel&gt;" in story
    assert "<!channel>" not in story
    assert "&lt;@\u2060U024BE7LH&gt;" in story
    assert "@\u2060here" in story
    assert "@here" not in story
    assert "&amp;" in story
    assert "<https://evil.example|" not in json.dumps(payload)
    assert "<!everyone>" not in json.dumps(payload)
    assert "@channel" not in json.dumps(payload, ensure_ascii=False)


def test_huge_text_stays_within_section_and_header_limits(farm: Farm) -> None:
    huge = "&<>" * 3000
    message = message_for(
        [entry(1, "Hamas " + huge, "hamas " + huge, feed="f" * 500)], title="T" * 400
    )
    hook, [outcome] = post_all(farm, [OK], [message])
    assert outcome is None
    [payload] = payloads(hook)
    assert_valid_block_kit(payload)
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
