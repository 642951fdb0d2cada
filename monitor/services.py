"""Assembling the edges for one loaded config: store, HTTP client, worker pool, matcher.

The CLI commands and the daemon build a :class:`~monitor.pipeline.Services` here, so the
wiring lives in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from monitor.alerts import Matcher
from monitor.config import LoadedConfig
from monitor.http import HttpClient
from monitor.pipeline import Services
from monitor.store import open_store
from monitor.workers import WorkerPool

WORKER_TIMEOUT = 30.0
WORKER_MEMORY = 512 << 20
WORKER_MODULES = ("monitor.articles.extract", "monitor.feeds.parse")
"""What the workers run, imported once by the fork server rather than by each worker."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def services(
    loaded: LoadedConfig, *, dry_run: bool = False, workers: int = 2
) -> AsyncIterator[Services]:
    """Open the store (upgrading its schema), the HTTP client and the worker pool."""
    config = loaded.config
    store = open_store(config.storage)
    pool = WorkerPool(
        max_workers=workers,
        timeout=WORKER_TIMEOUT,
        memory_limit=WORKER_MEMORY,
        preload=WORKER_MODULES,
    )
    try:
        async with HttpClient(config.http) as client:
            matcher = Matcher.build(config, store.novelty_last_seen)
            yield Services(config, store, client, pool, matcher, utc_now, dry_run=dry_run)
    finally:
        pool.close()
        store.close()
