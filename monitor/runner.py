"""``monitor run`` as a process: signals, the edges, the scheduler's jobs, a drained stop.

:class:`~monitor.daemon.Daemon` holds the jobs; :func:`run_daemon` takes the single-instance
lock (SQLite), opens the services, schedules the poll tick, the relay tick and housekeeping
(APScheduler 3 on asyncio; each scheduled digest gets its cron job from the daemon), and runs
until SIGTERM or SIGINT. Then no new job starts, work in flight gets ``daemon.shutdown_grace``
to finish, and the process exits. SIGHUP reloads config.yaml.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.config import LoadedConfig
from monitor.daemon import HOUSEKEEPING_INTERVAL, Daemon
from monitor.lockfile import acquire_lock, lock_path
from monitor.services import services, utc_now

log = logging.getLogger("monitor.daemon")

UNWIND_SECONDS = 5.0
"""How long cancelled work may take to unwind after the grace before the edges close."""


async def run(daemon: Daemon) -> None:
    """Run ``daemon`` until SIGTERM or SIGINT, then drain (see the module docstring)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, daemon.reload)
    async with services(daemon.loaded) as svc:
        daemon.attach(svc)
        svc.store.sync_feeds(daemon.loaded.config.feeds, svc.clock())
        if lock_path(svc.config.storage) is not None:  # we hold the lock: the only poller
            svc.store.release_feed_leases()  # so leases left by a killed daemon are stale
        daemon.record_config(True)
        tick = daemon.loaded.config.daemon.tick.total_seconds()
        scheduler = AsyncIOScheduler(timezone="UTC")
        for job, name in ((daemon.poll_job, "poll"), (daemon.relay_tick, "relay")):
            scheduler.add_job(
                job,
                "interval",
                seconds=tick,
                id=name,
                max_instances=1,
                coalesce=True,
                next_run_time=utc_now(),
            )
        scheduler.add_job(
            daemon.housekeeping,
            "interval",
            seconds=HOUSEKEEPING_INTERVAL.total_seconds(),
            id="housekeeping",
            max_instances=1,
            coalesce=True,
        )
        daemon.scheduler = scheduler
        daemon.schedule_digests()
        await daemon.start_web(svc)
        scheduler.start()
        log.warning(
            "monitor running: %d feeds, state in %s",
            len(svc.config.feeds),
            svc.store.backend,
            extra={"event": "daemon.started", "pid": os.getpid()},
        )
        watcher = (
            asyncio.create_task(daemon.watch_config(stop))
            if daemon.loaded.config.daemon.watch_config
            else None
        )
        await stop.wait()
        daemon.stopping = True
        if daemon.web is not None:
            await daemon.web.close()
        if watcher is not None:
            watcher.cancel()
        grace = daemon.loaded.config.daemon.shutdown_grace.total_seconds()
        log.warning(
            "stopping: letting in-flight work finish (up to %.0f s)",
            grace,
            extra={"event": "daemon.stopping"},
        )
        scheduler.pause()  # no new jobs; shutdown() would cancel the running ones at once
        await _drain(grace)
        await _cancel_the_rest()
        scheduler.shutdown(wait=False)
        daemon.svc = None


async def _drain(grace: float) -> None:
    """Wait for the other tasks, including ones they start meanwhile (a poll that ends wakes
    the relay), until none is left or ``grace`` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while (remaining := deadline - loop.time()) > 0:
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not pending:
            return
        await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)


async def _cancel_the_rest() -> None:
    """Cancel what outlived the grace and let it unwind before the edges close: its work was
    not committed, and the next start does it again. (Left running, it would fail on the
    closed HTTP client or store, and log a traceback or record a false error on its feed.)"""
    rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    if rest:
        await asyncio.wait(rest, timeout=UNWIND_SECONDS)


def run_daemon(config_path: Path, loaded: LoadedConfig) -> None:
    """Run until SIGTERM/SIGINT; raises AlreadyRunning if the SQLite state is taken."""
    path = lock_path(loaded.config.storage)
    handle = acquire_lock(path) if path else None
    try:
        asyncio.run(run(Daemon(config_path, loaded)))
    finally:
        if handle is not None:
            handle.close()
