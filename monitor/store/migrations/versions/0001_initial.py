"""The initial schema.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store.types import BigId, Json, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("original_url", sa.Text(), nullable=False),
        sa.Column("tags", Json, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("body_hash", sa.String(128)),
        sa.Column("next_poll_at", UTCDateTime(), nullable=False),
        sa.Column("last_polled_at", UTCDateTime()),
        sa.Column("last_success_at", UTCDateTime()),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_error_kind", sa.String(32)),
        sa.Column("interval_seconds", sa.Integer()),
        sa.Column("interval_auto", sa.Boolean(), nullable=False),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("entries_count", sa.Integer(), nullable=False),
        sa.Column("last_new_entries", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'disabled', 'removed')", name=op.f("ck_feeds_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("name", name=op.f("uq_feeds_name")),
    )
    op.create_index("ix_feeds_next_poll_at", "feeds", ["next_poll_at"])

    op.create_table(
        "entries",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(600), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_entries_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("feed_id", "identity", name=op.f("pk_entries")),
    )
    op.create_index("ix_entries_last_seen", "entries", ["last_seen"])

    op.create_table(
        "articles",
        sa.Column("id", BigId, nullable=False),
        sa.Column("url_key", sa.String(64), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("entry_identity", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published", UTCDateTime()),
        sa.Column("language", sa.String(35)),
        sa.Column("author", sa.Text()),
        sa.Column("tags", Json, nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("text_source", sa.String(16), nullable=False),
        sa.Column("fallback_reason", sa.Text()),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_articles_feed_id_feeds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("url_key", name=op.f("uq_articles_url_key")),
    )
    op.create_index("ix_articles_fetched_at", "articles", ["fetched_at"])
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.create_index("ix_articles_feed_id", "articles", ["feed_id"])

    op.create_table(
        "matches",
        sa.Column("id", BigId, nullable=False),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("evidence", Json, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_matches_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
        sa.UniqueConstraint("article_id", "rule", name=op.f("uq_matches_article_id_rule")),
    )

    op.create_table(
        "outbox",
        sa.Column("id", BigId, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(200)),
        sa.Column("article_id", BigId),
        sa.Column("payload", Json, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime()),
        sa.Column("dead_at", UTCDateTime()),
        sa.CheckConstraint(
            "state IN ('pending', 'leased', 'delivered', 'dead')", name=op.f("ck_outbox_state")
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_outbox_article_id_articles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    op.create_index("ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_article_id", "outbox", ["article_id"])

    op.create_table(
        "digest_runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("digest", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_runs")),
        sa.UniqueConstraint("key", name=op.f("uq_digest_runs_key")),
    )
    op.create_index("ix_digest_runs_digest_created_at", "digest_runs", ["digest", "created_at"])

    op.create_table(
        "digest_queue",
        sa.Column("id", BigId, nullable=False),
        sa.Column("digest", sa.String(200), nullable=False),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("match_id", BigId, nullable=False),
        sa.Column("enqueued_at", UTCDateTime(), nullable=False),
        sa.Column("sent_run", BigId),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_digest_queue_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["matches.id"],
            name=op.f("fk_digest_queue_match_id_matches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sent_run"],
            ["digest_runs.id"],
            name=op.f("fk_digest_queue_sent_run_digest_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_queue")),
        sa.UniqueConstraint("digest", "match_id", name=op.f("uq_digest_queue_digest_match_id")),
    )
    op.create_index("ix_digest_queue_digest_sent_run", "digest_queue", ["digest", "sent_run"])
    op.create_index("ix_digest_queue_article_id", "digest_queue", ["article_id"])

    op.create_table(
        "host_blocks",
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host", "fingerprint", name=op.f("pk_host_blocks")),
    )
    op.create_index("ix_host_blocks_last_seen", "host_blocks", ["last_seen"])

    op.create_table(
        "novelty",
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("article_id", BigId),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_novelty_article_id_articles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("rule", "actor", name=op.f("pk_novelty")),
    )

    op.create_table(
        "meta",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", Json, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )


def downgrade() -> None:
    for table in (
        "meta",
        "novelty",
        "host_blocks",
        "digest_queue",
        "digest_runs",
        "outbox",
        "matches",
        "articles",
        "entries",
        "feeds",
    ):
        op.drop_table(table)
