"""The store: feeds and their schedule, seen-state, articles, matches, the outbox, digests.

``open_store(url)`` returns a :class:`Store` over SQLite (WAL) or PostgreSQL (psycopg 3),
its schema upgraded with the Alembic migrations shipped in ``migrations/``.
"""

from monitor.store.records import (
    DigestEntry,
    DigestItemRecord,
    FeedState,
    FeedSync,
    MatchRecord,
    NoveltyRecord,
    OutboxRecord,
    OutboxRow,
    PollOutcome,
    PruneReport,
    SentItem,
)
from monitor.store.store import Store, open_store

__all__ = [
    "DigestEntry",
    "DigestItemRecord",
    "FeedState",
    "FeedSync",
    "MatchRecord",
    "NoveltyRecord",
    "OutboxRecord",
    "OutboxRow",
    "PollOutcome",
    "PruneReport",
    "SentItem",
    "Store",
    "open_store",
]
