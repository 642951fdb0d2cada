"""When to poll a feed next (pure; ``now`` is a parameter).

``next_poll_at`` = ``now`` + the largest of:
  - the interval: the configured one (floored at ``min_interval``), or with ``auto`` the
    adaptive one (``adaptive_interval``), widened after errors by ``backoff``;
  - the server's caching hints: Cache-Control ``max-age`` (ignored with ``no-cache`` or
    ``no-store``) and the RSS ``<ttl>``, each honoured up to the larger of ``max_interval``
    and the interval, so a misconfigured year-long max-age cannot silence a feed;
  - Retry-After, honoured up to ``MAX_RETRY_AFTER`` (one week) for the same reason.

When the plain interval decides (no error, no larger hint) and the time the poll was due is
known, the next poll also keeps to the feed's own *phase*: a fixed offset within the
interval, derived from its URL, so that feeds started together (or after an outage) spread
over the interval instead of all coming due at once. A feed off its phase moves four fifths
of the way towards it per poll and lands on it once within a twentieth of the interval (gaps
stay between 1 and 1.8 intervals from the due time, never under the interval); once on it,
it is polled every interval from its due time, without drift.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise

MAX_BACKOFF = timedelta(hours=24)
MAX_RETRY_AFTER = timedelta(days=7)
AUTO_FRACTION = 0.5
AUTO_HISTORY = 20
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])no-(?:cache|store)\b", re.IGNORECASE)


def next_poll_at(
    now: datetime,
    *,
    interval: timedelta,
    error_count: int = 0,
    retry_after: float | None = None,
    cache_control: str | None = None,
    ttl_minutes: int | None = None,
    auto: bool = False,
    min_interval: timedelta = timedelta(minutes=5),
    max_interval: timedelta = timedelta(hours=6),
    recent_publish_times: Sequence[datetime] = (),
    seed: str = "",
    due: datetime | None = None,
) -> datetime:
    """The time of the next poll (policy in the module docstring).

    ``seed`` (the feed URL, say) makes the backoff jitter and the phase differ between feeds
    while staying reproducible. ``due`` is when this poll was scheduled; without it the next
    poll is not phased.
    """
    if auto:
        base = adaptive_interval(
            recent_publish_times,
            now,
            fallback=interval,
            min_interval=min_interval,
            max_interval=max_interval,
        )
    else:
        base = max(interval, min_interval)
    delay = backoff(error_count, base, seed=seed) if error_count > 0 else base

    hint_cap = max(max_interval, base)
    max_age = cache_max_age(cache_control)
    if max_age is not None:
        delay = max(delay, min(max_age, hint_cap))
    if ttl_minutes is not None and ttl_minutes > 0:
        delay = max(delay, min(timedelta(minutes=ttl_minutes), hint_cap))
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    if due is not None and delay == base and error_count == 0:
        return phased(now, due, base, seed)
    return now + delay


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def phased(now: datetime, due: datetime, interval: timedelta, seed: str) -> datetime:
    """The next poll on the feed's phase grid (``seed`` picks the phase; see the module
    docstring): ``due`` + ``interval`` (``now`` + ``interval`` if the poll ran half an
    interval late or more), moved forward towards the grid."""
    step = interval // timedelta(microseconds=1)
    if step <= 0:
        return now + interval
    digest = hashlib.sha256(f"phase:{seed}".encode()).digest()
    phase = int.from_bytes(digest[:8], "big") % step

    def off_grid(t: datetime) -> int:
        return ((t - _EPOCH) // timedelta(microseconds=1) - phase) % step

    # Counted from the due time, so a poll that ran a little late does not push the feed off
    # its phase; one that ran far behind (half an interval or more) starts afresh from now.
    on_time = timedelta(0) <= now - due < interval / 2
    target = due + interval if on_time else now + interval
    ahead = (step - off_grid(target)) % step
    # Four fifths of the way, not all of it: feeds that started together then spread over
    # 0.8 of an interval instead of piling up where a cap would stop them.
    shift = ahead if ahead <= step // 20 else ahead * 4 // 5
    return target + timedelta(microseconds=shift)


def backoff(
    error_count: int,
    interval: timedelta = timedelta(minutes=10),
    *,
    cap: timedelta = MAX_BACKOFF,
    seed: str = "",
) -> timedelta:
    """Delay after ``error_count`` consecutive errors: interval·2^n, capped, minus ≤10 % jitter.

    ``error_count`` 0 gives the interval itself. The jitter is a deterministic function of
    ``seed`` and ``error_count``, so feeds that failed together do not retry together.
    """
    if error_count <= 0:
        return interval
    if interval >= cap:
        return interval
    delay = min(interval * 2 ** min(error_count, 16), cap)
    digest = hashlib.sha256(f"{seed}:{error_count}".encode()).digest()
    fraction = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF
    jittered: timedelta = delay * (1 - 0.1 * fraction)
    return max(interval, jittered)


def adaptive_interval(
    publish_times: Sequence[datetime],
    now: datetime,
    *,
    fallback: timedelta,
    min_interval: timedelta,
    max_interval: timedelta,
) -> timedelta:
    """Half the median gap between the feed's last entries, within [min, max].

    Uses the ``AUTO_HISTORY`` most recent distinct publish times not in the future. With
    fewer than two, ``fallback`` (the configured interval) is used. A feed silent for more
    than twice ``max_interval`` is polled every ``max_interval`` until it publishes again.
    """
    times = sorted({t for t in publish_times if t <= now})[-AUTO_HISTORY:]
    if len(times) < 2:
        chosen = fallback
    elif now - times[-1] > 2 * max_interval:
        chosen = max_interval
    else:
        gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
        chosen = timedelta(seconds=statistics.median(gaps) * AUTO_FRACTION)
    return min(max(chosen, min_interval), max_interval)


def cache_max_age(cache_control: str | None) -> timedelta | None:
    """The ``max-age`` of a Cache-Control header; None when absent or caching is refused."""
    if not cache_control or _NO_CACHE.search(cache_control):
        return None
    match = _MAX_AGE.search(cache_control)
    if match is None:
        return None
    return timedelta(seconds=min(int(match.group(1)), 10**9))
