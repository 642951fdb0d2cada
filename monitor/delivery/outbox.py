"""What a digest's outbox rows hold: deterministic keys and the rendered message.

Keys are derived from what the run is, never from when it happened to execute, so a repeat
of the same run is recognised by the store (``record_digest_run`` ignores a known run key,
``enqueue`` a known outbox key) and by the receiver (channels derive the e-mail
``Message-ID``, the ``webhook-id`` and Slack's ``block_id`` from the outbox key):

- a scheduled run: ``daily@2023-10-10T06:00Z`` (the slot, in UTC);
- an immediate run: ``urgent#q1234@20231010T061502.123456Z`` (the newest queue item it
  consumes, and when it was queued);
- a manual run (``monitor digest NAME --now``): ``daily@manual:2023-10-10T09:12:31.5+00:00``;
- the outbox row of a run for one channel: ``digest:{run key}:{channel}``.

A key longer than the store's 200 characters keeps a readable prefix and ends in a hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from monitor.model import Message
from monitor.store.records import MAX_KEY_LENGTH

DIGEST_PREFIX = "digest:"
NOTICE_PREFIX = "notice:"


def bounded_key(key: str) -> str:
    """``key`` if it fits the store, else a prefix of it and a hash of the whole."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"{key[: MAX_KEY_LENGTH - len(digest) - 1]}~{digest}"


def slot_run_key(digest: str, slot: datetime) -> str:
    """The run key of a scheduled digest's slot."""
    return bounded_key(f"{digest}@{slot.astimezone(UTC):%Y-%m-%dT%H:%MZ}")


def immediate_run_key(digest: str, queue_id: int, enqueued_at: datetime) -> str:
    """The run key of an immediate run whose newest queue item is ``queue_id``, queued at
    ``enqueued_at`` (the time guards against an id reused after pruning)."""
    return bounded_key(f"{digest}#q{queue_id}@{enqueued_at.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}")


def manual_run_key(digest: str, now: datetime) -> str:
    """The run key of a run asked for by hand at ``now``."""
    return bounded_key(f"{digest}@manual:{now.astimezone(UTC).isoformat()}")


def outbox_key(run_key: str, channel: str) -> str:
    """The idempotency key of the run's message to ``channel``."""
    return bounded_key(f"{DIGEST_PREFIX}{run_key}:{channel}")


def outbox_payload(message: Message, channel: str) -> dict[str, Any]:
    """The JSON stored in the outbox row: the rendered message and where it goes."""
    return {"channel": channel, "message": message.to_json()}


def message_of(payload: Mapping[str, Any]) -> Message:
    """The message stored by ``outbox_payload``; raises ValueError when it is unreadable."""
    try:
        return Message.from_json(payload["message"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unreadable outbox payload ({type(exc).__name__}: {exc})") from exc
