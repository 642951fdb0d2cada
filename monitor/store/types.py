"""Column types that behave the same on SQLite and PostgreSQL.

``UTCDateTime`` stores timezone-aware datetimes as UTC: ``timestamptz`` on PostgreSQL, and on
SQLite a fixed-width ISO-8601 string (``2024-05-01T12:00:00.000000Z``) so that text order is
time order and comparisons with bound parameters work in SQL. Naive datetimes are refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC, returned in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store takes timezone-aware times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        if value.tzinfo is None:  # written by something else; the store only writes UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON documents: jsonb on PostgreSQL, text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")

# Row ids that may grow large; SQLite needs exactly INTEGER for an auto-increment rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
