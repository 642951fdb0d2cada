"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

# Bound parameters per statement stay well under SQLite's and psycopg's limits.
CHUNK = 500


def upsert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    return upsert_for(conn.dialect.name, table)


def upsert_for(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """:func:`upsert` by dialect name, for statements built once and cached per dialect
    (executed with parameters, so SQLAlchemy compiles them once)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
