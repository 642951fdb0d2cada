"""Alembic environment: runs on the connection the store hands over (see engine.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from monitor.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("monitor migrations run through monitor.store.engine.upgrade()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
