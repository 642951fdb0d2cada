"""Health verdicts (pure): is a feed fine, silent or failing, and is the daemon ready?

A feed is judged from its stored state and the times of its recent articles:

- ``disabled``: switched off in the config, or disabled by the poller (410 Gone);
- ``pending``: never polled yet;
- ``failing``: ``FAILING_ERRORS`` or more failed polls in a row, or failing and no successful
  poll for ``FAILING_AFTER``;
- ``silent``: polled fine, but nothing new for much longer than its own rhythm: longer than
  ``max(SILENT_FLOOR, SILENT_MEDIAN_FACTOR × median gap, SILENT_LONGEST_FACTOR × longest gap)``
  between its last ``RHYTHM_WINDOW`` articles. A feed with fewer than ``RHYTHM_MIN_ARTICLES``
  articles has no known rhythm and is never called silent;
- ``ok`` otherwise.

The daemon is ready when the store answers, a config was loaded, and its poll tick keeps
ticking: the last tick started less than ``STALE_TICKS`` ticks ago, or one is still running
and started less than ``BUSY_TICK_LIMIT`` ago (a long poll is not a dead daemon).

The daemon records its tick and config reloads in the store's ``meta`` table under
``TICK_META`` and ``RELOAD_META``; the JSON shapes are below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median
from typing import Any

TICK_META = "daemon:poll_tick"
"""``{"started": iso, "finished": iso | null, "tick_seconds": float, "pid": int}``."""
RELOAD_META = "config:last_reload"
"""``{"ok": bool, "at": iso, "errors": [str], "feeds": int, "rules": int}``."""

FAILING_ERRORS = 3
FAILING_AFTER = timedelta(hours=24)
SILENT_FLOOR = timedelta(hours=24)
SILENT_MEDIAN_FACTOR = 4
SILENT_LONGEST_FACTOR = 1.5
RHYTHM_WINDOW = 50
RHYTHM_MIN_ARTICLES = 5
STALE_TICKS = 3
BUSY_TICK_LIMIT = timedelta(minutes=10)

VERDICTS = ("ok", "silent", "failing", "pending", "disabled")


@dataclass(frozen=True)
class FeedFacts:
    """What the verdict on one feed is drawn from.

    ``article_times`` are when its recent articles appeared: the publisher's date when it
    is known and not later than when we stored the article, else when we stored it.
    """

    name: str
    enabled: bool
    status: str
    created_at: datetime | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    error_count: int
    last_error: str | None = None
    article_times: Sequence[datetime] = ()


@dataclass(frozen=True)
class FeedHealth:
    """The verdict on one feed, with a one-line reason for people."""

    verdict: str
    reason: str
    usual_gap: timedelta | None = None
    quiet_for: timedelta | None = None
    threshold: timedelta | None = None


def human(span: timedelta) -> str:
    """``45s``, ``12m``, ``5.5h``, ``3.2d``."""
    seconds = span.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


@dataclass(frozen=True)
class Rhythm:
    """How often a feed publishes: the median and longest gap between its recent articles."""

    median_gap: timedelta
    longest_gap: timedelta

    @property
    def silence_limit(self) -> timedelta:
        """How long without anything new counts as silent for this feed."""
        return max(
            SILENT_FLOOR,
            self.median_gap * SILENT_MEDIAN_FACTOR,
            self.longest_gap * SILENT_LONGEST_FACTOR,
        )


def rhythm(times: Sequence[datetime]) -> Rhythm | None:
    """The rhythm of the newest ``RHYTHM_WINDOW`` of ``times``; None with too few."""
    recent = sorted(times)[-RHYTHM_WINDOW:]
    if len(recent) < RHYTHM_MIN_ARTICLES:
        return None
    gaps = [(b - a).total_seconds() for a, b in pairwise(recent)]
    return Rhythm(timedelta(seconds=median(gaps)), timedelta(seconds=max(gaps)))


def feed_health(facts: FeedFacts, now: datetime) -> FeedHealth:
    """The verdict on one feed at ``now`` (see the module docstring)."""
    if not facts.enabled:
        return FeedHealth("disabled", "disabled in the config")
    if facts.status != "active":
        return FeedHealth("disabled", f"{facts.status} by the poller")
    if facts.last_polled_at is None:
        return FeedHealth("pending", "not polled yet")
    if facts.error_count:
        since = facts.last_success_at or facts.created_at or facts.last_polled_at
        error = facts.last_error or "unknown error"
        if facts.error_count >= FAILING_ERRORS:
            return FeedHealth("failing", f"{facts.error_count} failed polls in a row: {error}")
        if now - since > FAILING_AFTER:
            what = "no successful poll" if facts.last_success_at else "never polled successfully"
            return FeedHealth("failing", f"{what} for {human(now - since)}: {error}")
    found = rhythm(facts.article_times)
    retrying = (
        f"{facts.error_count} failed poll(s) in a row, retrying: {facts.last_error}"
        if facts.error_count
        else None
    )
    if found is None:
        return FeedHealth("ok", retrying or "rhythm not known yet (too few articles)")
    quiet = max(now - max(facts.article_times), timedelta(0))
    limit = found.silence_limit
    if quiet > limit:
        return FeedHealth(
            "silent",
            f"nothing new for {human(quiet)}; it usually publishes every "
            f"{human(found.median_gap)} (silent after {human(limit)})",
            found.median_gap,
            quiet,
            limit,
        )
    reason = retrying or f"newest article from {human(quiet)} ago"
    return FeedHealth("ok", reason, found.median_gap, quiet, limit)


@dataclass(frozen=True)
class Readiness:
    """Whether the daemon is ready, and every reason it is not."""

    ready: bool
    reasons: tuple[str, ...] = ()
    last_tick: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def readiness(
    now: datetime,
    tick: Mapping[str, Any] | None,
    reload: Mapping[str, Any] | None,
    *,
    tick_seconds: float,
    store_error: str | None = None,
) -> Readiness:
    """Is the daemon ready at ``now``, given its tick and reload records (``*_META``)?

    ``tick_seconds`` is the configured tick (the daemon's own record of it wins);
    ``store_error`` says why the store could not be read, if it could not.
    """
    if store_error is not None:
        return Readiness(False, (f"the store cannot be read: {store_error}",))
    reasons: list[str] = []
    if not reload:
        reasons.append("no config loaded by a daemon yet")
    started = _when((tick or {}).get("started"))
    finished = _when((tick or {}).get("finished"))
    seconds = (tick or {}).get("tick_seconds")
    period = timedelta(seconds=seconds if isinstance(seconds, int | float) else tick_seconds)
    details: dict[str, Any] = {"tick_seconds": period.total_seconds()}
    if started is None:
        reasons.append("no poll tick recorded yet (is the daemon running?)")
    else:
        busy = finished is None or finished < started
        limit = BUSY_TICK_LIMIT if busy else period * STALE_TICKS
        age = now - started
        details.update(tick_age_seconds=round(age.total_seconds(), 3), tick_running=busy)
        if age > limit:
            state = "still running" if busy else "finished"
            reasons.append(
                f"the last poll tick started {human(age)} ago ({state}); "
                f"expected one at least every {human(limit)}"
            )
    return Readiness(not reasons, tuple(reasons), started, details)
