"""The store's engine, migrations and column types, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import StatementError

from monitor.store import PollOutcome, Store, open_store
from monitor.store.engine import alembic_config, normalize_url
from monitor.store.schema import metadata
from tests.storekit import T0, feed

pytest_plugins = ["tests.store_fixtures"]


def test_migrations_build_the_declared_schema_and_reopen_is_idempotent(store_url: str) -> None:
    with open_store(store_url) as first:
        first.sync_feeds([feed("alpha")], T0)
    with open_store(store_url) as again:  # upgrade at head: a no-op that keeps the data
        assert [f.name for f in again.list_feeds()] == ["alpha"]
        with again.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert context.get_current_revision() == head
            assert compare_metadata(context, metadata) == []


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/deep/er/monitor.db"
    with open_store(url) as store, store.engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,  # NORMAL
        "busy_timeout": 30_000,
    }
    assert (tmp_path / "deep" / "er" / "monitor.db").is_file()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@db:5432/m", "postgresql+psycopg"),
        ("postgres://u@db/m", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/m", "postgresql+psycopg"),
        ("sqlite:///state/monitor.db", "sqlite"),
    ],
)
def test_store_urls_select_psycopg3_for_postgresql(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported store URL"):
        normalize_url("mysql://u@db/m")


def test_datetimes_round_trip_as_aware_utc_and_compare_across_offsets(store: Store) -> None:
    if store.backend == "postgresql":  # the fixture sets a session zone far from UTC
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "Asia/Kolkata"
    kolkata = timezone(timedelta(hours=5, minutes=30))
    created = datetime(2025, 3, 1, 17, 31, 2, 123456, tzinfo=kolkata)
    store.sync_feeds([feed("alpha")], created)
    (row,) = store.list_feeds()
    assert row.created_at == created
    assert row.created_at.tzinfo == UTC
    assert row.created_at.isoformat() == "2025-03-01T12:01:02.123456+00:00"

    # Due at 12:00 UTC, written in UTC+14 (where it is already the next day).
    kiribati = timezone(timedelta(hours=14))
    due = datetime(2025, 3, 2, 2, 0, tzinfo=kiribati)
    store.record_poll(row.id, PollOutcome(now=created, ok=True, next_poll_at=due))
    lease = timedelta(minutes=5)
    assert store.claim_due_feeds(T0 - timedelta(microseconds=1), 10, lease) == []
    (claimed,) = store.claim_due_feeds(T0, 10, lease)
    assert claimed.next_poll_at == T0
    assert claimed.lease_until == T0 + lease


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StatementError) as info:
        store.sync_feeds([feed("alpha")], datetime(2025, 3, 1, 12))
    assert isinstance(info.value.orig, ValueError)
    assert store.list_feeds() == []


def test_meta_holds_json_values(store: Store) -> None:
    assert store.get_meta("config.reload") is None
    store.set_meta("config.reload", {"ok": False, "errors": ["config.yaml:3:5: bad"]}, T0)
    store.set_meta("config.reload", {"ok": True, "errors": []}, T0 + timedelta(minutes=1))
    assert store.get_meta("config.reload") == {"ok": True, "errors": []}


def test_integrity_check_and_optimize(store: Store) -> None:
    store.sync_feeds([feed(f"f{i}") for i in range(20)], T0)
    assert store.integrity_check() is True
    store.optimize()
    assert len(store.list_feeds()) == 20


def test_optimize_truncates_the_sqlite_wal(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/m.db") as store:
        store.sync_feeds([feed(f"f{i}") for i in range(50)], T0)
        wal = tmp_path / "m.db-wal"
        assert wal.stat().st_size > 0
        store.optimize()
        assert wal.stat().st_size == 0
    with sqlite3.connect(tmp_path / "m.db") as raw:
        assert raw.execute("SELECT count(*) FROM feeds").fetchone() == (50,)
