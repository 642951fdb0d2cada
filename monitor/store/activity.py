"""Read-only probes for health and status: recent article times per feed, schema revision."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, select

from monitor.store.engine import alembic_config
from monitor.store.schema import articles


def article_times(
    conn: Connection, feed_ids: Iterable[int], per_feed: int
) -> dict[int, list[tuple[datetime | None, datetime]]]:
    """``(published, fetched_at)`` of each feed's newest ``per_feed`` articles, newest first.

    One indexed query per feed (``ix_articles_feed_id``), each reading at most ``per_feed``
    rows, so the cost does not grow with the articles retained.
    """
    result: dict[int, list[tuple[datetime | None, datetime]]] = {}
    for feed_id in feed_ids:
        stmt = (
            select(articles.c.published, articles.c.fetched_at)
            .where(articles.c.feed_id == feed_id)
            .order_by(articles.c.id.desc())
            .limit(per_feed)
        )
        result[feed_id] = [(r.published, r.fetched_at) for r in conn.execute(stmt)]
    return result


def schema_revision(conn: Connection) -> tuple[str | None, str | None]:
    """The database's Alembic revision (None: no schema) and the code's head revision."""
    current = MigrationContext.configure(conn).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return current, head
