"""Seen-state: which entry identities of a feed have been seen, and when.

Identities longer than ``MAX_IDENTITY`` characters are stored by their SHA-256, so a hostile
GUID cannot exceed an index limit; callers always deal in the identities they gave.
Retention is by age (``last_seen``), never by count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, Insert, bindparam, select, update

from monitor.store.dialect import chunks, upsert_for
from monitor.store.schema import entries, feeds

MAX_IDENTITY = 512


def identity_key(identity: str) -> str:
    """The stored form of an entry identity."""
    if len(identity) <= MAX_IDENTITY:
        return identity
    return "sha256:" + hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()


def seen(conn: Connection, feed_id: int, identities: Iterable[str]) -> set[str]:
    """The subset of ``identities`` already seen for this feed."""
    by_key = {identity_key(i): i for i in identities}
    found: set[str] = set()
    for chunk in chunks(sorted(by_key)):
        rows = conn.execute(
            select(entries.c.identity).where(
                entries.c.feed_id == feed_id, entries.c.identity.in_(chunk)
            )
        )
        found.update(by_key[key] for key in rows.scalars())
    return found


def mark_seen(conn: Connection, feed_id: int, identities: Iterable[str], now: datetime) -> int:
    """Record identities as seen (idempotent; refreshes ``last_seen``); returns how many
    were new."""
    keys = sorted({identity_key(i) for i in identities})
    if not keys:
        return 0
    rows = [{"feed_id": feed_id, "identity": k, "first_seen": now, "last_seen": now} for k in keys]
    added = set(conn.execute(_insert_new(conn.dialect.name), rows).scalars())
    old = [{"b_feed": feed_id, "b_key": k, "b_now": now} for k in keys if k not in added]
    if old:
        conn.execute(_REFRESH, old)
    if added:
        conn.execute(_COUNT, {"b_feed": feed_id, "b_added": len(added)})
    return len(added)


@cache
def _insert_new(dialect: str) -> Insert:
    return (
        upsert_for(dialect, entries)
        .on_conflict_do_nothing(index_elements=["feed_id", "identity"])
        .returning(entries.c.identity)
    )


_REFRESH = (
    update(entries)
    .where(
        entries.c.feed_id == bindparam("b_feed"),
        entries.c.identity == bindparam("b_key"),
        entries.c.last_seen < bindparam("b_now"),
    )
    .values(last_seen=bindparam("b_now"))
)
_COUNT = (
    update(feeds)
    .where(feeds.c.id == bindparam("b_feed"))
    .values(entries_count=feeds.c.entries_count + bindparam("b_added"))
)


def has_seen_any(conn: Connection, feed_id: int) -> bool:
    """Whether the feed has any seen-state (False means its next poll is the first)."""
    row = conn.execute(select(entries.c.identity).where(entries.c.feed_id == feed_id).limit(1))
    return row.first() is not None
