"""The single-instance lock of a daemon on SQLite state: a lock file beside the database.

On PostgreSQL no lock is taken: feed claims (``FOR UPDATE SKIP LOCKED``) and unique keys let
several daemons share the state.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url


class AlreadyRunning(RuntimeError):
    """Another daemon holds the lock on this SQLite state."""


def lock_path(storage: str) -> Path | None:
    """The lock file beside a SQLite database (None for PostgreSQL, where claims suffice)."""
    url = make_url(storage)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).with_suffix(".lock")


def acquire_lock(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise AlreadyRunning(
            f"another monitor daemon (pid {holder}) is running on this state; lock: {path}"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
