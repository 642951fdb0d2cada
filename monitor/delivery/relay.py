"""The outbox relay: claim due rows under a lease, send them, record the outcome.

One pass (``relay_once``): claim up to ``batch`` due rows (pending and due, or leased by a
relay that died: its lease ran out), send each through its channel, and only after the
receiver's acknowledgement mark it delivered. Channels run concurrently, the rows of one
channel in order. Outcomes follow ``monitor.delivery.policy``:

- acknowledged → delivered;
- transient failure → pending again at ``retry_at`` (backoff with full jitter, at least the
  receiver's Retry-After); the channel's other rows in this pass are not tried and wait as
  long (no hammering a server that is down or rate-limiting);
- permanent failure, or a payload that cannot be read → dead letter;
- TTL passed → dead letter without another attempt.

A row for a channel that is not configured (any more) stays pending with a ``last_error``
saying so and is retried with backoff, in case a config reload brings the channel back; its
TTL still runs, so it ends in the dead letter, with a notice, if it never does.

The only window for a repeat is a crash after the receiver acknowledged and before the
delivered mark is committed; the repeat carries the same key (Message-ID, webhook-id,
block_id), so the receiver can drop it. Rows that died in a pass get one operator notice
(``monitor.delivery.notice``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from monitor.channels.base import Channel
from monitor.crashpoints import crashpoint
from monitor.delivery.notice import notify_dead_letters
from monitor.delivery.outbox import message_of
from monitor.delivery.policy import Decision, RetryPolicy, decide, expired, expiry_reason, retry_at
from monitor.errors import DeliveryError, TransientDeliveryError
from monitor.store import OutboxRow, Store

log = logging.getLogger("monitor.delivery")
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one claimed row; ``at`` is the next attempt of a retry."""

    id: int
    key: str
    channel: str
    digest: str | None
    verdict: str  # "delivered", "retry", "dead"
    attempts: int
    at: datetime | None = None
    reason: str | None = None
    created_at: datetime | None = None  # when the row was queued (delivery latency)
    finished_at: datetime | None = None  # when the outcome was recorded


@dataclass
class RelayReport:
    """One pass of the relay; ``notice`` is the dead-letter notice it gave, if any."""

    outcomes: list[RowOutcome] = field(default_factory=list)
    notice: dict[str, Any] | None = None

    def count(self, verdict: str) -> int:
        return sum(1 for o in self.outcomes if o.verdict == verdict)

    @property
    def claimed(self) -> int:
        return len(self.outcomes)

    @property
    def delivered(self) -> int:
        return self.count("delivered")

    @property
    def retried(self) -> int:
        return self.count("retry")

    @property
    def dead(self) -> int:
        return self.count("dead")


async def _db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A blocking store call in a thread, so sends in flight keep their deadlines."""
    return await asyncio.to_thread(fn, *args, **kwargs)


@dataclass
class _Pass:
    store: Store
    channels: Mapping[str, Channel]
    policy: RetryPolicy
    now: datetime
    rng: random.Random
    report: RelayReport

    async def record(self, row: OutboxRow, decision: Decision) -> None:
        if decision.verdict == "delivered":
            kept = await _db(self.store.mark_delivered, row.id, self.now)
        elif decision.verdict == "retry":
            assert decision.at is not None
            kept = await _db(
                self.store.mark_retry, row.id, self.now, decision.at, decision.reason or ""
            )
        else:
            kept = await _db(self.store.mark_dead, row.id, self.now, decision.reason or "")
        if not kept:  # another relay took the row over after our lease ran out
            log.warning(
                "outbox row %d (%s): lease lost before the outcome was recorded",
                row.id,
                row.key,
                extra={"event": "outbox.lease_lost", "channel": row.channel, "key": row.key},
            )
        self.report.outcomes.append(
            RowOutcome(
                row.id,
                row.key,
                row.channel,
                row.digest,
                decision.verdict,
                row.attempts,
                decision.at,
                decision.reason,
                row.created_at,
                self.now,
            )
        )

    def retry(self, row: OutboxRow, reason: str, retry_after: float | None = None) -> Decision:
        at = retry_at(
            self.now,
            attempt=row.attempts,
            queued_at=row.queued_at,
            retry_after=retry_after,
            policy=self.policy,
            rng=self.rng,
        )
        return Decision("retry", at, reason)

    async def channel_rows(self, name: str, rows: Sequence[OutboxRow]) -> None:
        """Send ``rows`` of channel ``name`` in order, stopping at a transient failure."""
        stopped: TransientDeliveryError | None = None
        for row in rows:
            if expired(row.queued_at, self.now, self.policy):
                await self.record(
                    row, Decision("dead", None, expiry_reason(self.policy, row.last_error))
                )
                continue
            channel = self.channels.get(name)
            if channel is None:
                reason = (
                    f"channel {name!r} is not configured; kept until the TTL runs out "
                    "in case a config reload brings it back"
                )
                await self.record(row, self.retry(row, reason))
                continue
            if stopped is not None:
                reason = f"not tried: {stopped.reason}"
                await self.record(row, self.retry(row, reason, stopped.retry_after))
                continue
            try:
                message = message_of(row.payload)
            except ValueError as exc:
                await self.record(row, Decision("dead", None, str(exc)))
                continue
            error: DeliveryError | None = None
            try:
                await channel.send(message, row.key)
                crashpoint("relay.after_ack")  # acknowledged, not yet marked delivered
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # a bug: make it visible on the row, then fail loudly
                reason = f"internal error: {type(exc).__name__}: {exc}"
                await self.record(row, self.retry(row, reason))
                raise
            decision = decide(
                error,
                now=self.now,
                attempt=row.attempts,
                queued_at=row.queued_at,
                policy=self.policy,
                rng=self.rng,
            )
            if isinstance(error, TransientDeliveryError):
                stopped = error
            await self.record(row, decision)


async def relay_once(
    store: Store,
    channels: Mapping[str, Channel],
    policy: RetryPolicy,
    *,
    now: datetime,
    rng: random.Random | None = None,
    notice_channels: Sequence[str] = (),
    check_notices: bool = False,
) -> RelayReport:
    """One relay pass at ``now``; see the module docstring.

    ``notice_channels`` receive the dead-letter notice; ``check_notices`` looks for dead rows
    without a notice even when none died in this pass (after a crash, say).
    """
    report = RelayReport()
    rows = await _db(store.claim_outbox, now, policy.batch, policy.lease)
    crashpoint("relay.after_claim", when=bool(rows))
    by_channel: dict[str, list[OutboxRow]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row)
    work = _Pass(store, channels, policy, now, rng or random.Random(), report)
    results = await asyncio.gather(
        *(work.channel_rows(n, rs) for n, rs in by_channel.items()), return_exceptions=True
    )
    if report.dead or check_notices:
        known = [c for c in notice_channels if c in channels]
        for missing in set(notice_channels) - set(known):
            log.warning(
                "delivery.notice_channels: no channel named %r",
                missing,
                extra={"event": "delivery.notice_channel_missing", "channel": missing},
            )
        report.notice = await _db(notify_dead_letters, store, now, known)
    for o in report.outcomes:
        if o.verdict != "delivered":
            log.info(
                "outbox #%d %s → %s: %s (%s)",
                *(o.id, o.key, o.channel, o.verdict, o.reason),
                extra={
                    "event": f"outbox.{o.verdict}",
                    "channel": o.channel,
                    "digest": o.digest,
                    "key": o.key,
                    "attempts": o.attempts,
                    "reason": o.reason,
                },
            )
    for result in results:
        if isinstance(result, BaseException):
            raise result  # a bug in a channel: the other channels' rows are recorded first
    return report
