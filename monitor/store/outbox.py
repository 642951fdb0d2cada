"""The outbox: messages waiting to be sent, claimed by the relay with a lease.

States: ``pending`` → (claim) ``leased`` → ``delivered`` | ``pending`` (retry) | ``dead``.
A leased row whose lease ran out (the relay crashed) is claimable again; ``attempts`` counts
claims since the row was queued, ``queued_at`` is when it was created or last requeued.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Row, and_, func, or_, select, update

from monitor.store.dialect import upsert_for
from monitor.store.records import OutboxRecord, OutboxRow
from monitor.store.schema import OUTBOX_STATES, outbox


def to_row(row: Row[Any]) -> OutboxRow:
    """An ``outbox`` row as an OutboxRow."""
    m = row._mapping
    return OutboxRow(
        id=m["id"],
        key=m["key"],
        channel=m["channel"],
        digest=m["digest"],
        article_id=m["article_id"],
        payload=dict(m["payload"]),
        state=m["state"],
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"],
        lease_until=m["lease_until"],
        last_error=m["last_error"],
        created_at=m["created_at"],
        queued_at=m["queued_at"],
        delivered_at=m["delivered_at"],
        dead_at=m["dead_at"],
    )


def enqueue(
    conn: Connection, records: Sequence[OutboxRecord], now: datetime, article_id: int | None = None
) -> int:
    """Insert outbox rows; existing keys are left alone. Returns how many were new."""
    if not records:
        return 0
    rows = [
        {
            "key": r.key,
            "channel": r.channel,
            "digest": r.digest,
            "article_id": article_id,
            "payload": dict(r.payload),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": r.next_attempt_at or now,
            "created_at": now,
            "queued_at": now,
        }
        for r in records
    ]
    return len(conn.execute(_insert_new(conn.dialect.name), rows).all())


@cache
def _insert_new(dialect: str) -> Insert:
    return (
        upsert_for(dialect, outbox)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(outbox.c.id)
    )


def claim(conn: Connection, now: datetime, limit: int, lease: timedelta) -> list[OutboxRow]:
    """Lease up to ``limit`` due rows, oldest due first (see Store.claim_outbox)."""
    due_now = or_(
        and_(outbox.c.state == "pending", outbox.c.next_attempt_at <= now),
        and_(outbox.c.state == "leased", outbox.c.lease_until <= now),
    )
    due = (
        select(outbox.c.id)
        .where(due_now)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(outbox)
        .where(outbox.c.id.in_(due), due_now)
        .values(state="leased", lease_until=now + lease, attempts=outbox.c.attempts + 1)
        .returning(*outbox.c)
    )
    rows = [to_row(r) for r in conn.execute(stmt)]
    return sorted(rows, key=lambda r: (r.next_attempt_at, r.id))


def _finish(conn: Connection, outbox_id: int, **values: Any) -> bool:
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.state == "leased")
        .values(lease_until=None, **values)
    )
    return result.rowcount > 0


def mark_delivered(conn: Connection, outbox_id: int, now: datetime) -> bool:
    """A positive acknowledgement arrived; False if the row was not leased."""
    return _finish(conn, outbox_id, state="delivered", delivered_at=now)


def mark_retry(
    conn: Connection, outbox_id: int, now: datetime, next_attempt_at: datetime, error: str
) -> bool:
    """A transient failure: back to pending until ``next_attempt_at``."""
    del now  # the retry time is all that matters; kept for a uniform signature
    return _finish(
        conn, outbox_id, state="pending", next_attempt_at=next_attempt_at, last_error=error
    )


def mark_dead(conn: Connection, outbox_id: int, now: datetime, error: str) -> bool:
    """A permanent failure (or the TTL ran out): dead letter."""
    return _finish(conn, outbox_id, state="dead", dead_at=now, last_error=error)


def rows_in(conn: Connection, states: Iterable[str], limit: int | None = None) -> list[OutboxRow]:
    """Rows in the given states, oldest first."""
    wanted = list(states)
    unknown = set(wanted) - set(OUTBOX_STATES)
    if unknown:
        raise ValueError(f"unknown outbox states: {sorted(unknown)}")
    stmt = select(outbox).where(outbox.c.state.in_(wanted)).order_by(outbox.c.id).limit(limit)
    return [to_row(r) for r in conn.execute(stmt)]


def requeue(conn: Connection, outbox_id: int | None, now: datetime) -> int:
    """Return dead letters to pending (one, or all when ``outbox_id`` is None)."""
    stmt = update(outbox).where(outbox.c.state == "dead")
    if outbox_id is not None:
        stmt = stmt.where(outbox.c.id == outbox_id)
    result = conn.execute(
        stmt.values(
            state="pending",
            attempts=0,
            next_attempt_at=now,
            queued_at=now,
            dead_at=None,
            lease_until=None,
        )
    )
    return result.rowcount


def counts(conn: Connection) -> dict[str, int]:
    """Rows per state (every state present, zero included)."""
    result = dict.fromkeys(OUTBOX_STATES, 0)
    rows = conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))
    result.update(dict(rows.all()))
    return result
