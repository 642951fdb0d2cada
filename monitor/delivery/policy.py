"""What happens to an outbox row after an attempt (pure: data in, data out, ``now`` given).

- The receiver acknowledged: delivered.
- ``TransientDeliveryError`` (connect errors, timeouts, SMTP 4xx, HTTP 408/429/5xx): retry
  after an exponential backoff with *full jitter* — a random delay in
  ``[0, min(max_backoff, backoff · 2^(attempt-1))]`` — and never before the receiver's
  ``Retry-After`` (a floor). A retry is never scheduled past the row's TTL deadline: at the
  deadline it goes to the dead letter without another attempt.
- ``PermanentDeliveryError`` (SMTP 5xx, HTTP 4xx, ...): dead letter at once.
- A row still undelivered ``ttl`` after it was queued (``OutboxRow.queued_at``): dead letter.

The random source is passed in, so tests can pin it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitor.config.schema import Delivery
from monitor.config.units import format_duration
from monitor.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

Verdict = Literal["delivered", "retry", "dead"]
MAX_EXPONENT = 60
MAX_SECONDS = 10.0**9  # ~31 years: beyond any cap, and well within timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """The relay's settings (``delivery`` in config.yaml)."""

    ttl: timedelta = timedelta(hours=24)
    backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    batch: int = 50

    @classmethod
    def from_config(cls, settings: Delivery) -> RetryPolicy:
        return cls(
            ttl=settings.ttl,
            backoff=settings.backoff,
            max_backoff=settings.max_backoff,
            lease=settings.lease,
            batch=settings.batch,
        )


@dataclass(frozen=True)
class Decision:
    """The outcome to record: ``at`` is the next attempt (retry) and ``reason`` the error."""

    verdict: Verdict
    at: datetime | None = None
    reason: str | None = None


def backoff_ceiling(attempt: int, policy: RetryPolicy) -> timedelta:
    """The longest backoff after ``attempt`` attempts (1 = the first one failed)."""
    exponent = min(max(attempt, 1) - 1, MAX_EXPONENT)
    seconds = policy.backoff.total_seconds() * 2.0**exponent
    return min(policy.max_backoff, timedelta(seconds=min(seconds, MAX_SECONDS)))


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> timedelta:
    """Full jitter: uniformly random in ``[0, backoff_ceiling(attempt)]``."""
    return backoff_ceiling(attempt, policy) * rng.random()


def deadline(queued_at: datetime, policy: RetryPolicy) -> datetime:
    """When a row queued at ``queued_at`` goes to the dead letter if still undelivered."""
    return queued_at + policy.ttl


def expired(queued_at: datetime, now: datetime, policy: RetryPolicy) -> bool:
    """True when the row's TTL has run out."""
    return now >= deadline(queued_at, policy)


def retry_at(
    now: datetime,
    *,
    attempt: int,
    queued_at: datetime,
    retry_after: float | None,
    policy: RetryPolicy,
    rng: random.Random,
) -> datetime:
    """The next attempt: ``now`` + jittered backoff, at least ``retry_after`` seconds, at most
    the TTL deadline (where the row dies without another attempt)."""
    delay = backoff_delay(attempt, policy, rng)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, timedelta(seconds=retry_after))
    return min(now + delay, deadline(queued_at, policy))


def expiry_reason(policy: RetryPolicy, last_error: str | None) -> str:
    """The dead-letter reason of a row whose TTL ran out."""
    reason = f"not delivered within {format_duration(policy.ttl)}"
    return f"{reason}; last error: {last_error}" if last_error else reason


def decide(
    error: DeliveryError | None,
    *,
    now: datetime,
    attempt: int,
    queued_at: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> Decision:
    """What to record after an attempt that raised ``error`` (None: acknowledged)."""
    if error is None:
        return Decision("delivered")
    if isinstance(error, TransientDeliveryError):
        at = retry_at(
            now,
            attempt=attempt,
            queued_at=queued_at,
            retry_after=error.retry_after,
            policy=policy,
            rng=rng,
        )
        return Decision("retry", at, error.reason)
    if isinstance(error, PermanentDeliveryError):
        return Decision("dead", None, error.reason)
    raise TypeError(f"not a transient or permanent delivery error: {error!r}")
