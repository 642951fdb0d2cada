"""The ``slack`` channel: Block Kit messages to an incoming webhook.

The rendered message already respects Slack's limits (``monitor.digests.blocks``); a long
digest is several Slack messages, posted in order, at most one per ``min_interval`` seconds
per webhook (Slack allows about one a second). The first block of each carries
``{key}#{n}`` as its ``block_id``. Parts already acknowledged are remembered per key in this
process, so a retry after a failure halfway resumes at the first unsent part.

Slack answers 200 with the body ``ok``; any other 200 body is a permanent error. 429 (with
Retry-After) and 5xx are transient, other 4xx permanent. The webhook URL is a credential and
never appears in an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from monitor.channels.base import ChannelDeps, Message, register
from monitor.channels.posting import post
from monitor.config import schema
from monitor.errors import PermanentDeliveryError
from monitor.http import HttpClient

MAX_BLOCK_ID = 255
REMEMBERED_KEYS = 1000


def block_id(key: str, part: int) -> str:
    """The ``block_id`` of part ``part`` (from 1) of the message sent under ``key``."""
    value = f"{key}#{part}"
    if len(value) > MAX_BLOCK_ID:
        value = f"{hashlib.sha256(key.encode()).hexdigest()}#{part}"
    return value


def with_block_id(payload: Mapping[str, Any], key: str, part: int) -> dict[str, Any]:
    """A copy of ``payload`` whose first block carries the key."""
    blocks = [dict(b) for b in payload.get("blocks", ())]
    if blocks:
        blocks[0]["block_id"] = block_id(key, part)
    return {**payload, "blocks": blocks}


class SlackChannel:
    """Posts each message to one Slack incoming webhook."""

    def __init__(
        self,
        name: str,
        config: schema.SlackChannel,
        http: HttpClient,
        *,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._url = config.webhook_url.get_secret_value()
        self._http = http
        self._min_interval = min_interval
        self._clock = clock
        self._lock = asyncio.Lock()
        self._last_post: float | None = None
        self._sent_parts: OrderedDict[str, int] = OrderedDict()

    async def send(self, message: Message, key: str) -> None:
        parts = message.slack
        for part in range(self._sent_parts.get(key, 0), len(parts)):
            await self._post(with_block_id(parts[part], key, part + 1))
            self._remember(key, part + 1)
        self._sent_parts.pop(key, None)

    def _remember(self, key: str, parts: int) -> None:
        self._sent_parts[key] = parts
        self._sent_parts.move_to_end(key)
        while len(self._sent_parts) > REMEMBERED_KEYS:
            self._sent_parts.popitem(last=False)

    async def _post(self, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        async with self._lock:
            if self._last_post is not None:
                wait = self._last_post + self._min_interval - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            try:
                response = await post(
                    self._http,
                    self.name,
                    self._url,
                    body,
                    {"Content-Type": "application/json; charset=utf-8"},
                    redact=True,
                )
            finally:
                self._last_post = self._clock()
        answer = response.body.strip()
        if answer != b"ok":
            text = answer[:200].decode("utf-8", "replace")
            raise PermanentDeliveryError(self.name, f"Slack answered {response.status} {text!r}")


@register("slack")
def _create(name: str, config: schema.SlackChannel, deps: ChannelDeps) -> SlackChannel:
    return SlackChannel(name, config, deps.http)
