"""The ``webhook`` channel: the digest as JSON, signed per the Standard Webhooks spec.

Headers: ``webhook-id`` (the idempotency key, the same for every attempt, so a receiver can
drop repeats), ``webhook-timestamp`` (Unix seconds at sending; receivers reject stale ones)
and ``webhook-signature``: ``v1,`` + base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``.
A secret written ``whsec_<base64>`` is base64-decoded as the spec says; any other secret is
used as its UTF-8 bytes (a receiver using the reference ``standardwebhooks`` library then
passes those bytes, or ``whsec_`` + their base64, to ``Webhook``).

2xx is the acknowledgement; 408, 429 (Retry-After honoured) and 5xx are transient; other 4xx
are permanent (``monitor.channels.posting``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from urllib.parse import quote

from monitor.channels.base import ChannelDeps, Message, register
from monitor.channels.posting import post
from monitor.config import schema
from monitor.http import HttpClient

SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``secret`` (``whsec_`` + base64, or any other text as UTF-8)."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a whsec_ secret must be base64 after the prefix") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_id(key: str) -> str:
    """``key`` as a header value (percent-encoded only if it is not printable ASCII)."""
    return key if key.isascii() and key.isprintable() else quote(key, safe="")


class WebhookChannel:
    """POSTs each message's JSON payload to one signed endpoint."""

    def __init__(
        self,
        name: str,
        config: schema.WebhookChannel,
        http: HttpClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._url = config.url
        self._key = signing_key(config.secret.get_secret_value())
        self._http = http
        self._clock = clock

    async def send(self, message: Message, key: str) -> None:
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode()
        msg_id = webhook_id(key)
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(self._key, msg_id, timestamp, body),
        }
        await post(self._http, self.name, self._url, body, headers)


@register("webhook")
def _create(name: str, config: schema.WebhookChannel, deps: ChannelDeps) -> WebhookChannel:
    return WebhookChannel(name, config, deps.http)
