"""The jobs of ``monitor run`` (the process around them is :mod:`monitor.runner`).

The schedule is data (DESIGN §2): one short interval job claims the feeds that are due in
the store and polls them; housekeeping prunes by age. The outbox relay runs on its own tick
and as soon as an article with an immediate alert is stored; each scheduled digest has a
cron job in its time zone, and a slot missed while the daemon was down runs once on return.
A reload (file watch or SIGHUP) applies a valid new config atomically; an invalid one is
logged with every error and the daemon keeps the old one.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from watchfiles import awatch

from monitor.alerts import Alerts, Matcher
from monitor.config import Config, ConfigError, LoadedConfig, format_issues, load_config
from monitor.config.cron import crontab_trigger
from monitor.crashpoints import crashpoint
from monitor.delivery import Delivery
from monitor.health import RELOAD_META, TICK_META
from monitor.metrics import Metrics
from monitor.pipeline import FEED_LEASE, poll_feeds
from monitor.services import Services
from monitor.snapshot import read_readiness, take_snapshot
from monitor.store import FeedState
from monitor.web import HealthServer, start_health_server

log = logging.getLogger("monitor.daemon")

HOUSEKEEPING_INTERVAL = timedelta(hours=6)
WATCH_DEBOUNCE_MS = 300


def _immediate_digests(config: Config) -> frozenset[str]:
    return frozenset(d.name for d in config.digests if d.immediate)


@dataclass
class Daemon:
    config_path: Path
    loaded: LoadedConfig
    svc: Services | None = None
    delivery: Delivery | None = None
    scheduler: AsyncIOScheduler | None = None
    metrics: Metrics = field(default_factory=Metrics)
    web: HealthServer | None = None
    reload_ok: bool = True
    polls: set[asyncio.Task[None]] = field(default_factory=set)
    relay_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    relay_task: asyncio.Task[None] | None = None
    relay_wanted: bool = False
    immediate: frozenset[str] = frozenset()
    stopping: bool = False
    backlog: bool = False  # the last claim filled every slot: more feeds are likely due
    claim_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    top_up: asyncio.Task[None] | None = None

    def poll_slots(self, svc: Services) -> int:
        """Feeds polled at once (each holds HTTP slots only while it fetches)."""
        return svc.config.http.concurrency * 4

    async def poll_tick(self) -> None:
        """Claim due feeds up to the free polling slots and poll each as its own task.

        The tick does not wait for them: one slow feed never holds up the others, and a
        feed that stored new articles wakes the relay at once (immediate alerts). When a
        claim fills every slot, polls that finish claim more at once instead of leaving
        the backlog to the next tick (a start with every feed due)."""
        svc = self.svc
        if svc is None or self.stopping:
            return
        async with self.claim_lock:
            free = self.poll_slots(svc) - len(self.polls)
            if free <= 0:
                return
            states = await asyncio.to_thread(
                svc.store.claim_due_feeds, svc.clock(), limit=free, lease=FEED_LEASE
            )
            self.backlog = len(states) == free
            for state in states:
                task = asyncio.get_running_loop().create_task(self.poll_one(svc, state))
                self.polls.add(task)
                task.add_done_callback(self._poll_done)

    def _poll_done(self, task: asyncio.Task[None]) -> None:
        self.polls.discard(task)
        svc = self.svc
        if svc is None or self.stopping or not self.backlog:
            return
        # Top up once a quarter of the slots is free: claims in batches, not one by one.
        if len(self.polls) <= self.poll_slots(svc) * 3 // 4 and (
            self.top_up is None or self.top_up.done()
        ):
            self.top_up = asyncio.get_running_loop().create_task(self.poll_tick())

    async def poll_one(self, svc: Services, state: FeedState) -> None:
        [report] = await poll_feeds(svc, [state], on_done=self.metrics.feed_polled)
        if report.articles:
            log.info(
                "feed %s: %d new article(s)",
                report.feed,
                len(report.articles),
                extra={
                    "event": "feed.polled",
                    "feed": report.feed,
                    "articles": len(report.articles),
                },
            )
            self.wake_relay()

    def attach(self, svc: Services) -> None:
        """Poll and deliver through ``svc``, told of every article it stores."""
        self.svc = replace(svc, on_stored=self.article_stored)
        self.immediate = _immediate_digests(svc.config)

    def article_stored(self, alerts: Alerts) -> None:
        """An article is committed: an immediate alert among its items goes out now."""
        if any(item.digest in self.immediate for item in alerts.digest_items):
            self.wake_relay()

    def wake_relay(self) -> None:
        """Run the relay now (again, if one is running: it may have missed the new items)."""
        self.relay_wanted = True
        if self.relay_task is None or self.relay_task.done():
            self.relay_task = asyncio.get_running_loop().create_task(self.relay_while_wanted())

    async def relay_while_wanted(self) -> None:
        while self.relay_wanted:
            self.relay_wanted = False
            await self.relay_tick()

    def schedule_digests(self) -> None:
        """One cron job per scheduled digest of the current config (replacing older ones)."""
        if self.scheduler is None:
            return
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        for digest in self.loaded.config.digests:
            if digest.schedule:
                self.scheduler.add_job(
                    self.digest_tick,
                    crontab_trigger(digest.schedule, ZoneInfo(digest.timezone)),
                    args=[digest.name],
                    id=f"digest:{digest.name}",
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=3600,
                )

    def _delivery(self) -> Delivery | None:
        """The delivery edge of the current config (rebuilt after a reload)."""
        svc = self.svc
        if svc is None or svc.dry_run:
            return None
        if self.delivery is None or self.delivery.config is not svc.config:
            self.delivery = Delivery(svc.config, svc.store, svc.client)
        return self.delivery

    async def relay_tick(self) -> None:
        """Due scheduled digests (a slot missed while down runs once), immediate digests
        with something pending, then one pass of the outbox relay."""
        delivery = self._delivery()
        if delivery is None or self.svc is None:
            return
        async with self.relay_lock:
            runs, report = await delivery.tick(self.svc.clock())
        self.metrics.relayed(report)
        if runs or report.claimed:
            log.info(
                "delivery: %d digest run(s); %d sent, %d to retry, %d dead",
                sum(1 for r in runs if r.queued),
                report.delivered,
                report.retried,
                report.dead,
                extra={"event": "delivery.done", "sent": report.delivered, "dead": report.dead},
            )

    async def digest_tick(self, name: str) -> None:
        """The cron job of the scheduled digest ``name``: run its slot once, then relay."""
        delivery = self._delivery()
        if delivery is None or self.svc is None:
            return
        now = self.svc.clock()
        runs = await delivery.run_due(now, [name])
        if any(r.queued for r in runs):
            self.metrics.relayed(await delivery.relay(now))

    async def housekeeping(self) -> None:
        if self.svc is None:
            return
        report = self.svc.store.prune(self.svc.clock(), self.svc.config.defaults.retention)
        self.svc.store.optimize()
        log.info("housekeeping: pruned %s", report, extra={"event": "housekeeping.done"})

    def reload(self) -> None:
        """Apply a new config if it is valid; otherwise keep the old one and say why."""
        try:
            loaded = load_config(self.config_path)
        except ConfigError as exc:
            log.error(
                "config reload rejected, keeping the previous config:\n%s",
                format_issues(exc),
                extra={"event": "config.reload_rejected", "errors": len(exc.issues)},
            )
            self.record_config(False, [str(issue) for issue in exc.issues])
            return
        if self.svc is None or loaded.source_hash == self.loaded.source_hash:
            if self.svc is not None and not self.reload_ok:
                self.record_config(True)  # the file is back to the config in use
            return
        if loaded.config.storage != self.loaded.config.storage:
            reason = "config reload: `storage` cannot change while running; restart instead"
            log.error(reason, extra={"event": "config.reload_rejected", "errors": 1})
            self.record_config(False, [reason])
            return
        matcher = Matcher.build(loaded.config, self.svc.store.novelty_last_seen)
        self.svc.store.sync_feeds(loaded.config.feeds, self.svc.clock())
        self.immediate = _immediate_digests(loaded.config)
        crashpoint("daemon.reload")  # the store has the new feeds, memory the old config
        self.svc = replace(self.svc, config=loaded.config, matcher=matcher)
        self.loaded = loaded
        self.schedule_digests()
        self.record_config(True)
        log.info(
            "config reloaded: %d feeds, %d rules",
            len(loaded.config.feeds),
            len(loaded.config.rules),
            extra={"event": "config.reloaded"},
        )

    async def watch_config(self, stop: asyncio.Event) -> None:
        """Reload when the config file changes. The directory is watched, not the file:
        editors save by writing a new file and renaming it over the old one."""
        target = self.config_path.resolve()
        async for changes in awatch(
            target.parent, stop_event=stop, debounce=WATCH_DEBOUNCE_MS, recursive=False
        ):
            if any(Path(path).resolve() == target for _change, path in changes):
                self.reload()

    async def poll_job(self) -> None:
        """The scheduler's poll job: ``poll_tick`` between two records of the tick in the
        store, which the health checks read (``monitor.health.TICK_META``)."""
        svc = self.svc
        if svc is None:
            return
        started = svc.clock()
        tick = {
            "started": started.isoformat(),
            "finished": None,
            "tick_seconds": svc.config.daemon.tick.total_seconds(),
            "pid": os.getpid(),
        }
        await asyncio.to_thread(svc.store.set_meta, TICK_META, tick, started)
        try:
            await self.poll_tick()
        finally:
            done = svc.clock()
            tick["finished"] = done.isoformat()
            await asyncio.to_thread(svc.store.set_meta, TICK_META, tick, done)

    def record_config(self, ok: bool, errors: Sequence[str] = ()) -> None:
        """Remember the outcome of a config load or reload (``monitor status``, metrics);
        ``feeds`` and ``rules`` describe the config in use."""
        self.reload_ok = ok
        self.metrics.config_loaded(ok, self.loaded.config if ok else None)
        if self.svc is None:
            return
        now = self.svc.clock()
        config = self.loaded.config
        record = {
            "ok": ok,
            "at": now.isoformat(),
            "errors": list(errors),
            "feeds": len(config.feeds),
            "rules": len(config.rules),
            "source_hash": self.loaded.source_hash,
        }
        self.svc.store.set_meta(RELOAD_META, record, now)

    async def start_web(self, svc: Services) -> None:
        """Serve /healthz, /readyz and /metrics when ``http.listen`` is set."""
        self.metrics.watch(lambda: take_snapshot(svc.store, self.loaded.config, svc.clock()))
        listen = svc.config.http.listen
        if listen:
            self.web = await start_health_server(
                listen,
                ready=lambda: read_readiness(svc.store, self.loaded.config, svc.clock()),
                metrics=self.metrics.exposition,
            )
