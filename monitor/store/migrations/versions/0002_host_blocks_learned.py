"""Index host_blocks by (host, articles), so the learned boilerplate of a busy host is read
without scanning every paragraph it ever carried.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_host_blocks_host_articles", "host_blocks", ["host", "articles"])


def downgrade() -> None:
    op.drop_index("ix_host_blocks_host_articles", table_name="host_blocks")
