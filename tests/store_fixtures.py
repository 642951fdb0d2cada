"""Store test fixtures (load with ``pytest_plugins``): each test runs on SQLite and PostgreSQL.

PostgreSQL tests use the server at 127.0.0.1:5432 (database ``test``), each in a fresh schema
with a random name (``search_path``, dropped afterwards) and the session time zone set to
Asia/Kolkata; they are skipped, with the reason, only when the server cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store import Store, open_store
from tests.pgkit import fresh_schema


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state/monitor.db"
        return
    # A session time zone far from UTC: what comes back must still be aware UTC.
    with fresh_schema("test_store", timezone="Asia/Kolkata") as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An opened store (schema at head) on each backend."""
    with open_store(store_url) as s:
        yield s
