"""``Delivery``: the delivery edge of one process for one config (daemon and commands).

It builds the templates, the channels (over the process's one ``HttpClient``) and the retry
policy once, and runs the store-bound steps in a worker thread so sends in flight keep their
deadlines. A config reload means a new ``Delivery``.

- ``tick(now)``: run scheduled digests whose slot is due, immediate digests with something
  pending, then one relay pass. The daemon calls it on its relay interval; it also catches up
  a slot missed while the daemon was down (once).
- ``run_due(now, names)``: the cron job of a scheduled digest.
- ``flush_immediate(now, names)``: right after a poll queued items for immediate digests.
- ``run_now(name, now)``: ``monitor digest NAME --now``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Mapping
from datetime import datetime

from monitor.channels import Channel, ChannelDeps, create_channels
from monitor.config.schema import Config
from monitor.delivery import digests, schedule
from monitor.delivery.digests import DigestRun, digest_config
from monitor.delivery.outbox import manual_run_key
from monitor.delivery.policy import RetryPolicy
from monitor.delivery.relay import RelayReport, relay_once
from monitor.digests import Templates
from monitor.http import HttpClient
from monitor.store import Store

MAX_PASSES = 20


class Delivery:
    """Digest runs and the relay for one config (see the module docstring)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        http: HttpClient | None = None,
        *,
        channels: Mapping[str, Channel] | None = None,
        templates: Templates | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``channels`` default to the configured ones (which need ``http``)."""
        if channels is None:
            if http is None:
                raise ValueError("Delivery needs an HttpClient or ready-made channels")
            channels = create_channels(config.channels, ChannelDeps(http))
        self.config = config
        self.store = store
        self.channels = dict(channels)
        self.templates = templates or Templates(config.templates_dir)
        self.policy = RetryPolicy.from_config(config.delivery)
        self.rng = rng or random.Random()
        self._checked_notices = False

    async def relay(self, now: datetime) -> RelayReport:
        """One relay pass (the first one also gives any dead-letter notice still owed)."""
        report = await relay_once(
            self.store,
            self.channels,
            self.policy,
            now=now,
            rng=self.rng,
            notice_channels=self.config.delivery.notice_channels,
            check_notices=not self._checked_notices,
        )
        self._checked_notices = True
        return report

    async def relay_all(self, now: datetime, max_passes: int = MAX_PASSES) -> RelayReport:
        """Relay passes until one claims less than a batch (at most ``max_passes``)."""
        total = RelayReport()
        for _ in range(max_passes):
            report = await self.relay(now)
            total.outcomes += report.outcomes
            total.notice = report.notice or total.notice
            if report.claimed < self.policy.batch:
                break
        return total

    async def flush_immediate(
        self, now: datetime, names: Iterable[str] | None = None
    ) -> list[DigestRun]:
        """Run the immediate digests (or ``names``) that have something pending."""
        return await asyncio.to_thread(
            digests.flush_immediate,
            self.store,
            self.config,
            self.templates,
            now=now,
            names=None if names is None else list(names),
        )

    async def run_due(self, now: datetime, names: Iterable[str] | None = None) -> list[DigestRun]:
        """Run the scheduled digests (or ``names``) whose slot is due, each slot once."""
        return await asyncio.to_thread(
            schedule.run_due_digests,
            self.store,
            self.config,
            self.templates,
            now=now,
            names=None if names is None else list(names),
        )

    async def run_now(self, name: str, now: datetime) -> DigestRun:
        """Run digest ``name`` now, whatever its schedule (an immediate one is flushed)."""
        digest = digest_config(self.config, name)
        run_key = None if digest.immediate else manual_run_key(name, now)
        return await asyncio.to_thread(
            digests.run_digest,
            self.store,
            self.config,
            self.templates,
            name,
            now=now,
            run_key=run_key,
        )

    async def tick(self, now: datetime) -> tuple[list[DigestRun], RelayReport]:
        """Due scheduled digests, pending immediate ones, then one relay pass."""
        runs = await self.run_due(now)
        runs += await self.flush_immediate(now)
        return runs, await self.relay(now)
