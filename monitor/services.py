"""The edges one loaded config needs: store, HTTP client, worker pool, matcher, clock.

:class:`Services` holds them; the CLI commands and the daemon build one with
:func:`services`, so the wiring lives in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from monitor.alerts import Alerts, Matcher
from monitor.config import Config, LoadedConfig
from monitor.http import HttpClient
from monitor.store import Store, open_store
from monitor.workers import WorkerPool

P = ParamSpec("P")
T = TypeVar("T")

URGENT_PRIORITY, FEED_PRIORITY, PAGE_PRIORITY = -1, 0, 1
"""Worker-job priorities. The page of an entry whose feed text already matches an
immediate-alert rule is cleaned first; then feeds are parsed, since parsing is what finds
the next such entry; other pages, whose articles only wait for a scheduled digest, come
last. (The wait is bounded: each poll holds one polling slot until its pages are done.)"""

WORKER_TIMEOUT = 30.0
WORKER_MEMORY = 512 << 20
WORKER_MODULES = ("monitor.articles.extract", "monitor.feeds.parse")
"""What the workers run, imported once by the fork server rather than by each worker. (They
never import the daemon: the console script's entry point, :mod:`monitor.__main__`, which
multiprocessing re-runs in every new worker, imports the command line only when called.)"""


@dataclass
class Services:
    """The edges one poll needs, built once per config by the CLI or the daemon."""

    config: Config
    store: Store
    client: HttpClient
    pool: WorkerPool
    matcher: Matcher
    clock: Callable[[], datetime]
    dry_run: bool = False
    boilerplate: dict[str, tuple[datetime, frozenset[str]]] = field(default_factory=dict)
    on_stored: Callable[[Alerts], None] | None = None
    """Called once a new article and what it produced are committed (the daemon wakes the
    relay there for immediate alerts, without waiting for the rest of the feed)."""


async def in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking store call in a thread, so deadlines of requests in flight keep time."""
    return await asyncio.to_thread(fn, *args, **kwargs)


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
