"""The store's tables (SQLAlchemy Core).

Migrations under ``migrations/versions`` create exactly these; a test compares the two.
Long free-form keys (entry identities, canonical URLs) are indexed through short keys so that
no hostile feed can exceed an index size limit.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from monitor.store.types import BigId, Json, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

FEED_STATUSES = ("active", "disabled", "removed")
OUTBOX_STATES = ("pending", "leased", "delivered", "dead")

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("url", Text, nullable=False),  # what is polled (follows permanent redirects)
    Column("original_url", Text, nullable=False),  # what the config says
    Column("tags", Json, nullable=False),
    Column("enabled", Boolean, nullable=False),  # the config's switch
    Column("status", String(16), nullable=False),  # the store's own state
    Column("disabled_reason", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(128)),
    Column("next_poll_at", UTCDateTime, nullable=False),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("error_count", Integer, nullable=False),
    Column("last_error", Text),
    Column("last_error_kind", String(32)),
    Column("interval_seconds", Integer),
    Column("interval_auto", Boolean, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("entries_count", Integer, nullable=False),
    Column("last_new_entries", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(f"status IN {FEED_STATUSES!r}", name="status"),
    Index("ix_feeds_next_poll_at", "next_poll_at"),
)

entries = Table(
    "entries",
    metadata,
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    Column("identity", String(600), primary_key=True),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Index("ix_entries_last_seen", "last_seen"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("url_key", String(64), nullable=False, unique=True),  # sha256 of canonical_url
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("entry_identity", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("canonical_url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("published", UTCDateTime),
    Column("language", String(35)),
    Column("author", Text),
    Column("tags", Json, nullable=False),
    Column("content_hash", String(128), nullable=False),
    Column("text_source", String(16), nullable=False),
    Column("fallback_reason", Text),
    Column("fetched_at", UTCDateTime, nullable=False),
    Index("ix_articles_fetched_at", "fetched_at"),
    Index("ix_articles_content_hash", "content_hash"),
    Index("ix_articles_feed_id", "feed_id"),
)

matches = Table(
    "matches",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("article_id", BigId, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("evidence", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("article_id", "rule"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("channel", String(200), nullable=False),
    Column("digest", String(200)),
    Column("article_id", BigId, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("payload", Json, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("queued_at", UTCDateTime, nullable=False),  # created_at, or the last requeue
    Column("delivered_at", UTCDateTime),
    Column("dead_at", UTCDateTime),
    CheckConstraint(f"state IN {OUTBOX_STATES!r}", name="state"),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_outbox_article_id", "article_id"),
)

digest_runs = Table(
    "digest_runs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("digest", String(200), nullable=False),
    Column("key", String(200), nullable=False, unique=True),
    Column("items", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_digest_runs_digest_created_at", "digest", "created_at"),
)

digest_queue = Table(
    "digest_queue",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("digest", String(200), nullable=False),
    Column("article_id", BigId, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("match_id", BigId, ForeignKey("matches.id", ondelete="CASCADE"), nullable=False),
    Column("enqueued_at", UTCDateTime, nullable=False),
    Column("sent_run", BigId, ForeignKey("digest_runs.id", ondelete="CASCADE")),
    UniqueConstraint("digest", "match_id"),
    Index("ix_digest_queue_digest_sent_run", "digest", "sent_run"),
    Index("ix_digest_queue_article_id", "article_id"),
)

host_blocks = Table(
    "host_blocks",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("fingerprint", String(64), primary_key=True),
    Column("articles", Integer, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Index("ix_host_blocks_last_seen", "last_seen"),
    Index("ix_host_blocks_host_articles", "host", "articles"),
)

novelty = Table(
    "novelty",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column("actor", String(200), primary_key=True),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("article_id", BigId, ForeignKey("articles.id", ondelete="SET NULL")),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Json, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
