"""Retention by age, the key-value ``meta`` table, and database upkeep."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from monitor.store.dialect import upsert
from monitor.store.records import PruneReport
from monitor.store.schema import (
    articles,
    digest_queue,
    digest_runs,
    entries,
    feeds,
    host_blocks,
    meta,
    outbox,
)


def prune(conn: Connection, now: datetime, older_than: timedelta) -> PruneReport:
    """Delete what is older than ``now - older_than`` (see Store.prune)."""
    cutoff = now - older_than
    old_entries = entries.c.last_seen < cutoff
    per_feed = conn.execute(
        select(entries.c.feed_id, func.count()).where(old_entries).group_by(entries.c.feed_id)
    ).all()
    n_entries = conn.execute(delete(entries).where(old_entries)).rowcount
    for feed_id, count in per_feed:
        conn.execute(
            update(feeds)
            .where(feeds.c.id == feed_id)
            .values(entries_count=feeds.c.entries_count - count)
        )
    n_outbox = conn.execute(
        delete(outbox).where(outbox.c.state == "delivered", outbox.c.delivered_at < cutoff)
    ).rowcount
    unsent = (
        select(outbox.c.id)
        .where(outbox.c.article_id == articles.c.id, outbox.c.state.in_(["pending", "leased"]))
        .exists()
    )
    queued = (
        select(digest_queue.c.id)
        .where(digest_queue.c.article_id == articles.c.id, digest_queue.c.sent_run.is_(None))
        .exists()
    )
    n_articles = conn.execute(
        delete(articles).where(articles.c.fetched_at < cutoff, ~unsent, ~queued)
    ).rowcount
    n_runs = conn.execute(delete(digest_runs).where(digest_runs.c.created_at < cutoff)).rowcount
    n_blocks = conn.execute(delete(host_blocks).where(host_blocks.c.last_seen < cutoff)).rowcount
    return PruneReport(
        entries=n_entries,
        articles=n_articles,
        outbox=n_outbox,
        digest_runs=n_runs,
        host_blocks=n_blocks,
    )


def set_meta(conn: Connection, key: str, value: Any, now: datetime) -> None:
    """Store a JSON-serialisable value under ``key``."""
    stmt = upsert(conn, meta).values(key=key, value=value, updated_at=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
    )


def get_meta(conn: Connection, key: str) -> Any:
    """The value stored under ``key``, or None."""
    return conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()


def integrity_check(engine: Engine) -> bool:
    """SQLite's ``PRAGMA integrity_check``; PostgreSQL answers a trivial query."""
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            return conn.exec_driver_sql("SELECT 1").scalar() == 1
        return [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")] == ["ok"]


def optimize(engine: Engine) -> None:
    """SQLite: ``PRAGMA optimize`` and a truncating WAL checkpoint; PostgreSQL: ANALYZE."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            # Outside any transaction (isolation_level is None on these connections).
            cursor.execute("PRAGMA optimize")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            cursor.execute("ANALYZE")
            raw.commit()
        cursor.close()
    finally:
        raw.close()
