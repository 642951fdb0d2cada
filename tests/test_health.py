"""Health verdicts: a feed silent much longer than its own rhythm, a failing feed, readiness."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.health import FeedFacts, feed_health, readiness, rhythm

NOW = datetime(2025, 6, 9, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def every(step: timedelta, count: int, *, last: timedelta) -> list[datetime]:
    """``count`` article times ``step`` apart, the newest ``last`` before NOW."""
    return [NOW - last - step * i for i in range(count)]


def facts(
    *,
    enabled: bool = True,
    status: str = "active",
    polled: timedelta | None = 10 * timedelta(minutes=1),
    success: timedelta | None = 10 * timedelta(minutes=1),
    errors: int = 0,
    created: timedelta = 30 * D,
    times: Sequence[datetime] = (),
) -> FeedFacts:
    return FeedFacts(
        name="f",
        enabled=enabled,
        status=status,
        created_at=NOW - created,
        last_polled_at=None if polled is None else NOW - polled,
        last_success_at=None if success is None else NOW - success,
        error_count=errors,
        last_error="HTTP 503 for http://example.org/feed" if errors else None,
        article_times=times,
    )


CASES: list[tuple[str, FeedFacts, str, str]] = [
    ("off in the config", facts(enabled=False), "disabled", "disabled in the config"),
    ("410 Gone disabled it", facts(status="disabled"), "disabled", "disabled by the poller"),
    ("never polled", facts(polled=None, success=None), "pending", "not polled yet"),
    ("three failures in a row", facts(errors=3), "failing", "3 failed polls in a row: HTTP 503"),
    (
        "one failure, no success for 30 h",
        facts(errors=1, success=30 * H),
        "failing",
        "no successful poll for 30.0h",
    ),
    (
        "never a success in two days",
        facts(errors=2, success=None, created=2 * D),
        "failing",
        "never polled successfully for 2.0d",
    ),
    (
        "two failures, last success 2 h ago",
        facts(errors=2, success=2 * H, times=every(H, 10, last=3 * H)),
        "ok",
        "2 failed poll(s) in a row, retrying: HTTP 503",
    ),
    (
        "fine, with a rhythm",
        facts(times=every(H, 10, last=3 * H)),
        "ok",
        "newest article from 3.0h ago",
    ),
    ("too few articles for a rhythm", facts(times=every(H, 4, last=9 * D)), "ok", "not known"),
    (
        "hourly feed quiet 30 h",
        facts(times=every(H, 20, last=30 * H)),
        "silent",
        "nothing new for 30.0h; it usually publishes every 60m (silent after 24.0h)",
    ),
    ("hourly feed quiet 20 h: the 24 h floor", facts(times=every(H, 20, last=20 * H)), "ok", ""),
    ("weekly feed quiet 20 days", facts(times=every(7 * D, 6, last=20 * D)), "ok", ""),
    (
        "weekly feed quiet 30 days",
        facts(times=every(7 * D, 6, last=30 * D)),
        "silent",
        "usually publishes every 7.0d (silent after 28.0d)",
    ),
    (
        "failing wins over silent",
        facts(errors=4, times=every(H, 20, last=30 * D)),
        "failing",
        "4 failed polls",
    ),
]


@pytest.mark.parametrize(("case", "given", "verdict", "reason"), CASES, ids=[c[0] for c in CASES])
def test_feed_verdicts(case: str, given: FeedFacts, verdict: str, reason: str) -> None:
    health = feed_health(given, NOW)
    assert health.verdict == verdict, (case, health)
    assert reason in health.reason


def test_a_weekday_feed_is_not_silent_over_its_usual_weekend() -> None:
    # Three posts a day on weekdays for three weeks, nothing at weekends.
    times = [
        datetime(2025, 5, 12, h, tzinfo=UTC) + D * day
        for week in range(3)
        for day in range(week * 7, week * 7 + 5)
        for h in (8, 12, 16)
    ]
    monday_morning = datetime(2025, 6, 2, 7, tzinfo=UTC)  # 63 h after Friday 16:00
    found = rhythm(times)
    assert found is not None
    assert found.longest_gap == timedelta(hours=64)
    assert feed_health(facts(times=times), monday_morning).verdict == "ok"
    a_week_later = monday_morning + 3 * D
    assert feed_health(facts(times=times), a_week_later).verdict == "silent"


def tick(started: timedelta, finished: timedelta | None, **more: Any) -> dict[str, Any]:
    return {
        "started": (NOW - started).isoformat(),
        "finished": None if finished is None else (NOW - finished).isoformat(),
        **more,
    }


LOADED = {"ok": True, "at": (NOW - H).isoformat(), "errors": []}
S = timedelta(seconds=1)

READY_CASES: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None, bool, str]] = [
    ("a daemon ticked 10 s ago", tick(10 * S, 9 * S), LOADED, True, ""),
    ("the tick is 50 s old with a 15 s tick", tick(50 * S, 49 * S), LOADED, False, "50s ago"),
    ("its own 60 s tick is what counts", tick(100 * S, 99 * S, tick_seconds=60), LOADED, True, ""),
    ("a long poll still running 5 min", tick(5 * 60 * S, None), LOADED, True, ""),
    ("a poll running 11 min is stuck", tick(11 * 60 * S, None), LOADED, False, "still running"),
    ("an old finish before a new start", tick(20 * S, 600 * S), LOADED, True, ""),
    ("nothing recorded", None, None, False, "no poll tick recorded yet"),
    ("no config record", tick(1 * S, 0 * S), None, False, "no config loaded"),
]


@pytest.mark.parametrize(
    ("case", "tick_record", "reload", "ready", "reason"),
    READY_CASES,
    ids=[c[0] for c in READY_CASES],
)
def test_readiness(
    case: str,
    tick_record: dict[str, Any] | None,
    reload: dict[str, Any] | None,
    ready: bool,
    reason: str,
) -> None:
    result = readiness(NOW, tick_record, reload, tick_seconds=15)
    assert result.ready is ready, (case, result)
    assert reason in " ".join(result.reasons)


def test_a_store_that_cannot_be_read_is_not_ready() -> None:
    result = readiness(NOW, None, None, tick_seconds=15, store_error="database is locked")
    assert not result.ready
    assert result.reasons == ("the store cannot be read: database is locked",)
