"""Store test fixtures (load with ``pytest_plugins``): each test runs on SQLite and PostgreSQL.

PostgreSQL tests use the server at 127.0.0.1:5432 (database ``test``), each in a fresh schema
with a random name (``search_path``, dropped afterwards) and the session time zone set to
Asia/Kolkata; they are skipped, with the reason, only when the server cannot be reached.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from monitor.store import Store, open_store

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"

_pg_error: list[str] = []


def _pg_reachable() -> str | None:
    """None when the server answers, else why not (checked once per session)."""
    if not _pg_error:
        try:
            with psycopg.connect(PG_DSN, connect_timeout=3):
                _pg_error.append("")
        except psycopg.Error as exc:
            _pg_error.append(f"PostgreSQL at 127.0.0.1:5432 unreachable: {exc}".strip())
    return _pg_error[0] or None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state/monitor.db"
        return
    reason = _pg_reachable()
    if reason:
        pytest.skip(reason)
    schema = f"test_store_{secrets.token_hex(6)}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        # A session time zone far from UTC: what comes back must still be aware UTC.
        yield f"{PG_DSN}?options=-csearch_path%3D{schema}%20-ctimezone%3DAsia/Kolkata"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An opened store (schema at head) on each backend."""
    with open_store(store_url) as s:
        yield s
