"""next_poll_at, backoff and the adaptive interval, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from monitor.feeds.schedule import adaptive_interval, backoff, cache_max_age, next_poll_at

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
TEN = timedelta(minutes=10)


def delay(**kwargs: object) -> timedelta:
    args: dict[str, object] = {
        "interval": TEN,
        "min_interval": 5 * MIN,
        "max_interval": 6 * HOUR,
    }
    args.update(kwargs)
    return next_poll_at(NOW, **args) - NOW  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, TEN),
        ({"interval": MIN}, 5 * MIN),  # floored at min_interval
        ({"interval": 12 * HOUR}, 12 * HOUR),  # a configured interval may exceed max_interval
        # Server hints floor the delay, up to max_interval.
        ({"cache_control": "public, max-age=1800"}, 30 * MIN),
        ({"cache_control": "max-age=60"}, TEN),
        ({"cache_control": "public, max-age=31536000"}, 6 * HOUR),
        ({"cache_control": "no-cache, max-age=1800"}, TEN),
        ({"cache_control": "private, no-store"}, TEN),
        ({"cache_control": "s-maxage=7200"}, TEN),
        ({"interval": 12 * HOUR, "cache_control": "max-age=86400"}, 12 * HOUR),
        ({"ttl_minutes": 60}, HOUR),
        ({"ttl_minutes": 5}, TEN),
        ({"ttl_minutes": 100_000}, 6 * HOUR),
        # Retry-After is honoured up to a week.
        ({"retry_after": 3600.0}, HOUR),
        ({"retry_after": 30.0}, TEN),
        ({"retry_after": 60.0 * 86400}, timedelta(days=7)),
        ({"retry_after": 0.0, "cache_control": None}, TEN),
    ],
)
def test_next_poll_at(kwargs: dict[str, object], expected: timedelta) -> None:
    assert delay(**kwargs) == expected


@pytest.mark.parametrize(
    ("errors", "low", "high"),
    [
        (1, 18 * MIN, 20 * MIN),
        (2, 36 * MIN, 40 * MIN),
        (3, 72 * MIN, 80 * MIN),
        (12, 21.6 * HOUR, 24 * HOUR),
    ],
)
def test_errors_back_off_exponentially_with_bounded_jitter(
    errors: int, low: timedelta, high: timedelta
) -> None:
    got = delay(error_count=errors, seed="https://example.org/feed")
    assert low <= got <= high


def test_retry_after_wins_over_a_shorter_backoff() -> None:
    assert delay(error_count=1, retry_after=3 * 3600.0) == 3 * HOUR


def test_backoff_is_deterministic_per_seed_and_never_below_the_interval() -> None:
    a = [backoff(n, TEN, seed="a") for n in range(20)]
    assert a == [backoff(n, TEN, seed="a") for n in range(20)]
    assert a != [backoff(n, TEN, seed="b") for n in range(20)]
    assert a[0] == TEN
    assert all(d >= TEN for d in a)
    assert max(a) <= timedelta(hours=24)
    assert backoff(10_000, TEN) <= timedelta(hours=24)
    assert backoff(3, timedelta(days=2)) == timedelta(days=2)  # interval above the cap


def times(*hours_ago: float) -> list[datetime]:
    return [NOW - timedelta(hours=h) for h in hours_ago]


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (times(1, 3, 5, 7, 9), HOUR),  # every 2 h → poll hourly
        (times(0.5, 1, 1.5, 2, 30), 15 * MIN),  # median, not mean: one long gap does not count
        ([NOW - timedelta(minutes=m) for m in range(0, 60, 1)], 5 * MIN),  # clamped to min
        (times(1, 49, 97), 6 * HOUR),  # every 2 days → clamped to max
        (times(20, 21, 22, 23), 6 * HOUR),  # silent for more than 2×max → max
        (times(2), TEN),  # too little history → the configured interval
        ([], TEN),
        (times(1, 1, 1, 3), HOUR),  # repeated timestamps count once
        (times(-5, -3, 1, 3), HOUR),  # future dates are ignored
    ],
)
def test_adaptive_interval(published: list[datetime], expected: timedelta) -> None:
    got = adaptive_interval(
        published, NOW, fallback=TEN, min_interval=5 * MIN, max_interval=6 * HOUR
    )
    assert got == expected
    assert delay(auto=True, recent_publish_times=published) == expected


def test_auto_interval_still_backs_off_on_errors() -> None:
    got = delay(auto=True, recent_publish_times=times(1, 3, 5), error_count=1)
    assert 1.8 * HOUR <= got <= 2 * HOUR


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=300", timedelta(seconds=300)),
        ('public, MAX-AGE="120"', timedelta(seconds=120)),
        ("public, s-maxage=300", None),
        ("no-cache", None),
        ("", None),
        (None, None),
        ("max-age=abc", None),
    ],
)
def test_cache_max_age(header: str | None, expected: timedelta | None) -> None:
    assert cache_max_age(header) == expected


def _run_feeds(feeds: int, polls: int, lateness: timedelta) -> dict[str, list[datetime]]:
    """Each feed polled ``polls`` times, every poll ``lateness`` after it was due; all due
    at NOW at first (a daemon starting). Returns the due times."""
    dues = {f"http://feeds.example/{n}": [NOW] for n in range(feeds)}
    for url, times in dues.items():
        for _ in range(polls):
            due = times[-1]
            times.append(next_poll_at(due + lateness, interval=TEN, seed=url, due=due))
    return dues


def test_feeds_due_together_spread_over_the_interval() -> None:
    dues = _run_feeds(200, 4, lateness=timedelta(seconds=7))
    minute_of_interval = {(t[-1] - NOW) // MIN % 10 for t in dues.values()}
    assert minute_of_interval == set(range(10))  # every minute of the interval has polls
    second_polls = [t[1] for t in dues.values()]
    # spread at once: no minute of the next interval gets more than twice its share
    busiest = max(sum(1 for t in second_polls if (t - NOW) // MIN == m) for m in range(10, 19))
    assert busiest <= 2 * len(second_polls) / 8


def test_phased_polls_keep_their_rhythm_without_drift_and_never_come_early() -> None:
    late = timedelta(seconds=20)
    for times in _run_feeds(50, 6, lateness=late).values():
        gaps = [b - a for a, b in pairwise(times)]
        assert all(TEN <= gap <= 1.8 * TEN + late for gap in gaps)  # due to due: never under
        assert gaps[-3:] == [TEN] * 3  # on its phase: exactly the interval, late polls or not


def test_a_poll_far_behind_its_phase_realigns_instead_of_rushing() -> None:
    due = next_poll_at(NOW, interval=TEN, seed="http://a.example/", due=NOW)
    due = next_poll_at(due, interval=TEN, seed="http://a.example/", due=due)  # on its phase
    late = due + 8 * MIN  # the daemon was busy: far more than half an interval late
    assert next_poll_at(late, interval=TEN, seed="http://a.example/", due=due) - late >= TEN


def test_errors_and_server_hints_are_not_phased() -> None:
    url = "http://a.example/"
    assert next_poll_at(NOW, interval=TEN, seed=url, due=NOW, error_count=1) - NOW >= 18 * MIN
    hinted = next_poll_at(NOW, interval=TEN, seed=url, due=NOW, cache_control="max-age=3600")
    assert hinted - NOW == HOUR
