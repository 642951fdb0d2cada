"""A fresh PostgreSQL schema per test, on the server at 127.0.0.1:5432 (database ``test``).

A plain module, not a pytest plugin, so any test module may import it. ``.ci/run`` starts the
server and sets ``MONITOR_TEST_POSTGRES=required``: there an unreachable server fails the
test. Elsewhere (a developer's machine without PostgreSQL) the test is skipped with the
reason, never silently passed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"

_unreachable: list[str] = []


def pg_unreachable() -> str | None:
    """None when the server answers, else why not (asked once per session)."""
    if not _unreachable:
        try:
            with psycopg.connect(PG_DSN, connect_timeout=3):
                _unreachable.append("")
        except psycopg.Error as exc:
            _unreachable.append(f"PostgreSQL at 127.0.0.1:5432 unreachable: {exc}".strip())
    return _unreachable[0] or None


@contextmanager
def fresh_schema(prefix: str, *, timezone: str | None = None) -> Iterator[str]:
    """A storage URL whose ``search_path`` is a new schema, dropped afterwards."""
    reason = pg_unreachable()
    if reason and os.environ.get("MONITOR_TEST_POSTGRES") == "required":
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)
    schema = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    options = f"-csearch_path%3D{schema}" + (f"%20-ctimezone%3D{timezone}" if timezone else "")
    try:
        yield f"{PG_DSN}?options={options}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
