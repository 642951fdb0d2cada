"""The retry policy: full-jitter backoff, Retry-After as a floor, TTL, outcome of an attempt."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.schema import Delivery
from monitor.delivery.policy import (
    Decision,
    RetryPolicy,
    backoff_ceiling,
    backoff_delay,
    decide,
    expired,
    retry_at,
)
from monitor.errors import PermanentDeliveryError, TransientDeliveryError

NOW = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    ttl=timedelta(hours=24), backoff=timedelta(minutes=1), max_backoff=timedelta(hours=1)
)


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=4)),
        (6, timedelta(minutes=32)),
        (7, timedelta(hours=1)),  # capped
        (500, timedelta(hours=1)),  # no overflow however many attempts
    ],
)
def test_the_ceiling_doubles_per_attempt_up_to_the_cap(attempt: int, ceiling: timedelta) -> None:
    assert backoff_ceiling(attempt, POLICY) == ceiling


def test_full_jitter_spreads_delays_over_the_whole_range() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(4, POLICY, rng) / timedelta(minutes=8) for _ in range(2000)]
    assert 0 <= min(delays) < 0.02
    assert 0.98 < max(delays) <= 1
    # uniform: each tenth of the range gets roughly a tenth of the draws
    tenths = [sum(1 for d in delays if i / 10 <= d < (i + 1) / 10) for i in range(10)]
    assert all(140 < n < 260 for n in tenths), tenths


def test_retry_after_is_a_floor_not_a_replacement() -> None:
    rng = random.Random(1)
    for _ in range(200):
        at = retry_at(NOW, attempt=1, queued_at=NOW, retry_after=90, policy=POLICY, rng=rng)
        assert at >= NOW + timedelta(seconds=90)
    late = retry_at(NOW, attempt=9, queued_at=NOW, retry_after=5, policy=POLICY, rng=FixedRandom(1))
    assert late == NOW + timedelta(hours=1)  # the backoff wins when it is longer


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_a_retry_is_never_scheduled_past_the_ttl_deadline() -> None:
    queued = NOW - timedelta(hours=23, minutes=50)
    at = retry_at(
        NOW, attempt=3, queued_at=queued, retry_after=3600, policy=POLICY, rng=FixedRandom(1)
    )
    assert at == queued + POLICY.ttl
    assert expired(queued, at, POLICY)
    assert not expired(queued, at - timedelta(seconds=1), POLICY)


def outcome(error: TransientDeliveryError | PermanentDeliveryError | None) -> Decision:
    return decide(error, now=NOW, attempt=2, queued_at=NOW, policy=POLICY, rng=FixedRandom(0.5))


def test_decisions() -> None:
    assert outcome(None).verdict == "delivered"
    retry = outcome(TransientDeliveryError("mail", "SMTP 421 busy"))
    assert (retry.verdict, retry.at, retry.reason) == (
        "retry",
        NOW + timedelta(minutes=1),  # half of the 2-minute ceiling of attempt 2
        "SMTP 421 busy",
    )
    assert outcome(TransientDeliveryError("slack", "HTTP 429", 120.0)).at == NOW + timedelta(
        minutes=2
    )
    dead = outcome(PermanentDeliveryError("hook", "HTTP 404"))
    assert (dead.verdict, dead.at, dead.reason) == ("dead", None, "HTTP 404")


def test_policy_from_config_defaults() -> None:
    policy = RetryPolicy.from_config(Delivery())
    assert (policy.ttl, policy.backoff, policy.max_backoff, policy.lease, policy.batch) == (
        timedelta(hours=24),
        timedelta(minutes=1),
        timedelta(hours=1),
        timedelta(minutes=5),
        50,
    )
