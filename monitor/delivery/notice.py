"""The operator notice for dead letters: exactly one per batch of rows that died together.

Whenever the relay has moved rows to the dead letter, ``notify_dead_letters`` looks for dead
rows no notice has covered yet (a cursor in ``meta`` under ``delivery:dead_noticed``), and
for them, once:

- logs one ERROR line naming each row;
- stores the notice in ``meta`` under ``delivery:last_dead_letter`` (``monitor outbox`` and
  ``monitor status`` show it);
- queues one message per channel of ``delivery.notice_channels`` (key
  ``notice:dead:{hash of the rows}:{channel}``; webhook type ``delivery.dead_letter``).

Repeating the call after a crash finds the same rows and the same keys, so the notice is
not queued twice. Notices themselves never cause notices.
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from monitor.delivery.outbox import NOTICE_PREFIX, bounded_key, outbox_payload
from monitor.digests.blocks import escape as slack_escape
from monitor.model import Message
from monitor.store import OutboxRecord, OutboxRow, Store

log = logging.getLogger("monitor.delivery")

NOTICE_META = "delivery:last_dead_letter"
CURSOR_META = "delivery:dead_noticed"
NOTICE_DIGEST = "dead-letter"
EVENT_TYPE = "delivery.dead_letter"
MAX_LISTED = 20
MAX_SLACK_TEXT = 2900


def unnoticed(dead: Iterable[OutboxRow], cursor: Mapping[str, Any] | None) -> list[OutboxRow]:
    """The dead rows (notices excluded) that died after the notice ``cursor``."""
    rows = [r for r in dead if r.dead_at is not None and not r.key.startswith(NOTICE_PREFIX)]
    if not cursor:
        return rows
    at = datetime.fromisoformat(str(cursor["at"]))
    seen = set(cursor.get("ids") or ())
    return [
        r for r in rows if r.dead_at and (r.dead_at > at or (r.dead_at == at and r.id not in seen))
    ]


def advanced_cursor(rows: Sequence[OutboxRow]) -> dict[str, Any]:
    """The cursor after noticing ``rows`` (never empty)."""
    last = max(r.dead_at for r in rows if r.dead_at)
    return {"at": last.isoformat(), "ids": sorted(r.id for r in rows if r.dead_at == last)}


def notice_id(rows: Sequence[OutboxRow]) -> str:
    """A stable id of the batch: the same rows, dead at the same times, give the same id."""
    text = ",".join(f"{r.id}@{r.dead_at.isoformat() if r.dead_at else ''}" for r in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _line(row: OutboxRow) -> str:
    what = f"digest {row.digest}" if row.digest else row.key
    return f"#{row.id} {what} → {row.channel} ({row.attempts} attempt(s)): {row.last_error or '?'}"


def notice_message(rows: Sequence[OutboxRow], now: datetime) -> Message:
    """The notice as a message every channel can send (built in code, text escaped)."""
    count = len(rows)
    subject = f"monitor: {count} message(s) moved to the dead letter"
    listed = [_line(r) for r in rows[:MAX_LISTED]]
    if count > MAX_LISTED:
        listed.append(f"… and {count - MAX_LISTED} more")
    advice = (
        "See them with `monitor outbox`; once the cause is fixed, send them again with "
        "`monitor outbox retry --dead` (or `monitor outbox retry ID`)."
    )
    intro = f"{count} message(s) could not be delivered and were moved to the dead letter:"
    text = "\n".join([intro, "", *listed, "", advice]) + "\n"
    items = "".join(f"<li>{html.escape(line)}</li>" for line in listed)
    body = f"<p>{html.escape(intro)}</p><ul>{items}</ul><p>{html.escape(advice)}</p>"
    page = f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{body}</body></html>'
    mrkdwn = slack_escape("\n".join([intro, *listed, advice]))[:MAX_SLACK_TEXT]
    section = {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}}
    payload = {
        "type": EVENT_TYPE,
        "timestamp": now.isoformat(),
        "data": {
            "version": 1,
            "count": count,
            "rows": [
                {
                    "id": r.id,
                    "key": r.key,
                    "channel": r.channel,
                    "digest": r.digest,
                    "attempts": r.attempts,
                    "queued_at": r.queued_at.isoformat(),
                    "dead_at": r.dead_at.isoformat() if r.dead_at else None,
                    "error": r.last_error,
                }
                for r in rows[:MAX_LISTED]
            ],
        },
    }
    return Message(
        digest=NOTICE_DIGEST,
        subject=subject,
        text=text,
        html=page,
        slack=({"text": subject, "blocks": [section]},),
        payload=payload,
        created=now,
    )


def notify_dead_letters(
    store: Store, now: datetime, channels: Sequence[str] = ()
) -> dict[str, Any] | None:
    """Give the one notice for dead rows not covered yet; returns it (None: nothing new)."""
    rows = unnoticed(store.outbox_rows(["dead"]), store.get_meta(CURSOR_META))
    if not rows:
        return None
    batch = notice_id(rows)
    message = notice_message(rows, now)
    log.error(
        "%s: %s",
        message.subject,
        "; ".join(_line(r) for r in rows[:MAX_LISTED]),
        extra={"event": "delivery.dead_letter", "count": len(rows), "notice": batch},
    )
    records = [
        OutboxRecord(
            key=bounded_key(f"{NOTICE_PREFIX}dead:{batch}:{channel}"),
            channel=channel,
            payload=outbox_payload(message, channel),
            digest=None,
        )
        for channel in channels
    ]
    store.enqueue(records, now)
    notice = {
        "id": batch,
        "at": now.isoformat(),
        "count": len(rows),
        "rows": message.payload["data"]["rows"],
        "sent_to": list(channels),
    }
    store.set_meta(NOTICE_META, notice, now)
    store.set_meta(CURSOR_META, advanced_cursor(rows), now)
    return notice
