"""Feeds: syncing with the config, claiming due polls with a lease, recording outcomes.

The poll schedule lives here as data (``next_poll_at``), so a restart resumes exactly and
several workers can share a PostgreSQL store: claims skip rows another worker has locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, Update, bindparam, or_, select, update

from monitor.config.schema import Feed
from monitor.store.records import FeedState, FeedSync, PollOutcome
from monitor.store.schema import feeds


def to_state(row: Row[Any]) -> FeedState:
    """A ``feeds`` row as a FeedState."""
    m = row._mapping
    return FeedState(
        id=m["id"],
        name=m["name"],
        url=m["url"],
        original_url=m["original_url"],
        tags=tuple(m["tags"]),
        enabled=bool(m["enabled"]),
        status=m["status"],
        disabled_reason=m["disabled_reason"],
        etag=m["etag"],
        last_modified=m["last_modified"],
        body_hash=m["body_hash"],
        next_poll_at=m["next_poll_at"],
        last_polled_at=m["last_polled_at"],
        last_success_at=m["last_success_at"],
        error_count=m["error_count"],
        last_error=m["last_error"],
        last_error_kind=m["last_error_kind"],
        interval_seconds=m["interval_seconds"],
        interval_auto=bool(m["interval_auto"]),
        lease_until=m["lease_until"],
        entries_count=m["entries_count"],
        last_new_entries=m["last_new_entries"],
        created_at=m["created_at"],
    )


def _interval(feed: Feed) -> tuple[int | None, bool]:
    if isinstance(feed.interval, timedelta):
        return int(feed.interval.total_seconds()), False
    return None, feed.interval == "auto"


def _changes(feed: Feed, row: FeedState, now: datetime) -> dict[str, Any]:
    """The column updates that bring an existing row in line with its config."""
    values: dict[str, Any] = {}
    seconds, auto = _interval(feed)
    if feed.url != row.original_url:
        # A new address is a new conversation: forget validators, errors and a 410.
        values.update(
            url=feed.url,
            original_url=feed.url,
            etag=None,
            last_modified=None,
            body_hash=None,
            error_count=0,
            last_error=None,
            last_error_kind=None,
            next_poll_at=now,
        )
        if row.status == "disabled":
            values.update(status="active", disabled_reason=None)
    if list(feed.tags) != list(row.tags):
        values["tags"] = list(feed.tags)
    if feed.enabled != row.enabled:
        values["enabled"] = feed.enabled
    if (seconds, auto) != (row.interval_seconds, row.interval_auto):
        values.update(interval_seconds=seconds, interval_auto=auto)
        if seconds is not None and "next_poll_at" not in values:
            values["next_poll_at"] = min(row.next_poll_at, now + timedelta(seconds=seconds))
    return values


def sync_feeds(conn: Connection, configured: Sequence[Feed], now: datetime) -> FeedSync:
    """Make the feeds table follow the config, by feed name (see Store.sync_feeds)."""
    existing = {s.name: s for s in map(to_state, conn.execute(select(feeds)))}
    added: list[str] = []
    updated: list[str] = []
    restored: list[str] = []
    names = set()
    for feed in configured:
        names.add(feed.name)
        row = existing.get(feed.name)
        if row is None:
            seconds, auto = _interval(feed)
            conn.execute(
                feeds.insert().values(
                    name=feed.name,
                    url=feed.url,
                    original_url=feed.url,
                    tags=list(feed.tags),
                    enabled=feed.enabled,
                    status="active",
                    next_poll_at=now,
                    error_count=0,
                    interval_seconds=seconds,
                    interval_auto=auto,
                    entries_count=0,
                    last_new_entries=0,
                    created_at=now,
                )
            )
            added.append(feed.name)
            continue
        values = _changes(feed, row, now)
        if row.status == "removed":
            values.update(status="active", disabled_reason=None, next_poll_at=now)
            restored.append(feed.name)
        elif values:
            updated.append(feed.name)
        if values:
            conn.execute(update(feeds).where(feeds.c.id == row.id).values(**values))
    removed = [n for n, s in existing.items() if n not in names and s.status != "removed"]
    if removed:
        conn.execute(
            update(feeds)
            .where(feeds.c.name.in_(removed))
            .values(status="removed", lease_until=None)
        )
    return FeedSync(tuple(added), tuple(updated), tuple(sorted(removed)), tuple(restored))


def claim_due(conn: Connection, now: datetime, limit: int, lease: timedelta) -> list[FeedState]:
    """Lease up to ``limit`` due feeds, earliest first (see Store.claim_due_feeds)."""
    free = or_(feeds.c.lease_until.is_(None), feeds.c.lease_until <= now)
    due = (
        select(feeds.c.id)
        .where(
            feeds.c.enabled.is_(True),
            feeds.c.status == "active",
            feeds.c.next_poll_at <= now,
            free,
        )
        .order_by(feeds.c.next_poll_at, feeds.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    # `free` again on the outer UPDATE: PostgreSQL rechecks it on a row another claimer
    # updated meanwhile, so even without SKIP LOCKED no feed is leased twice.
    stmt = (
        update(feeds)
        .where(feeds.c.id.in_(due), free)
        .values(lease_until=now + lease)
        .returning(*feeds.c)
    )
    claimed = [to_state(row) for row in conn.execute(stmt)]
    return sorted(claimed, key=lambda s: (s.next_poll_at, s.id))


def release_leases(conn: Connection) -> int:
    """Free every feed lease (see Store.release_feed_leases); returns how many were held."""
    result = conn.execute(
        update(feeds).where(feeds.c.lease_until.is_not(None)).values(lease_until=None)
    )
    return result.rowcount


def record_poll(conn: Connection, feed_id: int, outcome: PollOutcome) -> None:
    """Write one poll's outcome and release the lease (see Store.record_poll)."""
    values: dict[str, Any] = {
        "last_polled_at": outcome.now,
        "lease_until": None,
        "next_poll_at": outcome.next_poll_at,
        "last_new_entries": outcome.entries_added,
    }
    if outcome.ok:
        values.update(
            error_count=0, last_error=None, last_error_kind=None, last_success_at=outcome.now
        )
    else:
        values.update(
            last_error=outcome.error or "unknown error", last_error_kind=outcome.error_kind
        )
    for name in ("etag", "last_modified", "body_hash"):
        if getattr(outcome, name) is not None:
            values[name] = getattr(outcome, name)
    if outcome.new_url:
        values["url"] = outcome.new_url
    if outcome.disable_reason:
        values.update(status="disabled", disabled_reason=outcome.disable_reason)
    statement = _record_poll_statement(tuple(values), not outcome.ok)
    params = {f"v_{name}": value for name, value in values.items()}
    result = conn.execute(statement, {"b_id": feed_id, **params})
    if result.rowcount == 0:
        raise KeyError(f"no feed with id {feed_id}")


@cache
def _record_poll_statement(names: tuple[str, ...], failed: bool) -> Update:
    """The UPDATE of ``record_poll`` for one set of columns (and the error count bumped if
    ``failed``), built once: a poll answered 304 spent more CPU building its statement
    afresh than SQLite spent running it."""
    values: dict[str, Any] = {name: bindparam(f"v_{name}") for name in names}
    if failed:
        values["error_count"] = feeds.c.error_count + 1
    return update(feeds).where(feeds.c.id == bindparam("b_id")).values(values)


def enable_feed(conn: Connection, name: str, now: datetime) -> bool:
    """Re-activate a feed the poller disabled; False if it is not disabled."""
    result = conn.execute(
        update(feeds)
        .where(feeds.c.name == name, feeds.c.status == "disabled")
        .values(
            status="active",
            disabled_reason=None,
            error_count=0,
            last_error=None,
            last_error_kind=None,
            next_poll_at=now,
            lease_until=None,
        )
    )
    return result.rowcount > 0


def list_feeds(conn: Connection) -> list[FeedState]:
    """Every feed row, removed ones included, by name."""
    return [to_state(row) for row in conn.execute(select(feeds).order_by(feeds.c.name))]
