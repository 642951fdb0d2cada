"""The one module that strings the stages together: poll → parse → select → (ingest:
extract → match → store) → schedule the next poll.

Expected failures are isolated where they happen: a feed that cannot be fetched or parsed is
recorded on the feed (with backoff) and the others go on; an article page that cannot be
fetched or cleaned falls back to the feed's own summary, with the reason recorded
(:mod:`monitor.ingest`). Anything else is a bug and propagates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.config.schema import Feed
from monitor.crashpoints import crashpoint
from monitor.errors import FeedParseError, FetchError, HTTPStatusError, WorkerError
from monitor.feeds.fetch import FeedFetch, FetchStatus, fetch_feed
from monitor.feeds.identity import entry_identity, select_new
from monitor.feeds.parse import parse_feed
from monitor.feeds.schedule import next_poll_at
from monitor.ingest import NewArticle, process_entry
from monitor.model import FeedEntry, ParsedFeed
from monitor.services import FEED_PRIORITY, Services, in_thread
from monitor.store import FeedState, PollOutcome

log = logging.getLogger("monitor.pipeline")

ENTRY_CONCURRENCY = 8
"""Article pages of one feed downloaded at once (the HTTP client also limits per host)."""

FEED_LEASE = timedelta(minutes=10)


@dataclass
class FeedReport:
    """What one poll of one feed did."""

    feed: str
    status: str  # "fetched", "not_modified", "unchanged", "error", "disabled"
    error: str | None = None
    articles: list[NewArticle] = field(default_factory=list)
    baseline: int = 0
    flood: bool = False
    kind: str | None = None  # the error's stable kind (metrics, logs)


def _schedule(
    svc: Services,
    feed: Feed,
    state: FeedState,
    now: datetime,
    *,
    errors: int,
    retry_after: float | None = None,
    cache_control: str | None = None,
    parsed: ParsedFeed | None = None,
) -> datetime:
    defaults = svc.config.defaults
    interval = feed.interval if isinstance(feed.interval, timedelta) else defaults.poll_interval
    published = [e.published for e in parsed.entries if e.published] if parsed else []
    return next_poll_at(
        now,
        interval=interval,
        error_count=errors,
        retry_after=retry_after,
        cache_control=cache_control,
        auto=feed.interval == "auto",
        min_interval=defaults.min_interval,
        max_interval=defaults.max_interval,
        recent_publish_times=published,
        ttl_minutes=parsed.ttl_minutes if parsed else None,
        seed=state.url,
        due=state.next_poll_at,
    )


async def _failure(
    svc: Services, feed: Feed, state: FeedState, now: datetime, exc: Exception
) -> FeedReport:
    """Record a failed poll: backoff, a visible reason, and 410 disables the feed."""
    kind = getattr(exc, "kind", type(exc).__name__)
    retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
    disable = (
        "410 Gone: the publisher removed this feed"
        if (isinstance(exc, HTTPStatusError) and exc.status == 410)
        else None
    )
    errors = state.error_count + 1
    when = _schedule(svc, feed, state, now, errors=errors, retry_after=retry_after)
    log.warning(
        "feed %s failed (%s): %s",
        feed.name,
        kind,
        exc,
        extra={"event": "feed.failed", "feed": feed.name, "kind": kind, "error": str(exc)},
    )
    if not svc.dry_run:
        await in_thread(
            svc.store.record_poll,
            state.id,
            PollOutcome(
                now=now,
                ok=False,
                next_poll_at=when,
                error=str(exc),
                error_kind=kind,
                disable_reason=disable,
            ),
        )
    return FeedReport(feed.name, "disabled" if disable else "error", error=str(exc), kind=kind)


async def poll_feed(svc: Services, feed: Feed, state: FeedState) -> FeedReport:
    """Poll one feed end to end; never raises for expected failures (they are recorded)."""
    now = svc.clock()
    try:
        fetched = await fetch_feed(
            svc.client,
            state.url,
            etag=state.etag,
            last_modified=state.last_modified,
            last_body_hash=state.body_hash,
            max_bytes=svc.config.http.max_feed_bytes,
        )
        crashpoint("poll.after_fetch", when=fetched.status is FetchStatus.FETCHED)
        headers = fetched.response.headers
        cache_control = headers.get("cache-control")
        if fetched.status is not FetchStatus.FETCHED:
            when = _schedule(svc, feed, state, now, errors=0, cache_control=cache_control)
            await _record_success(svc, state, fetched, now=now, next_poll_at=when)
            return FeedReport(feed.name, fetched.status.value)
        parsed = await svc.pool.run(
            parse_feed,
            fetched.response.body,
            headers,
            fetched.response.url,
            priority=FEED_PRIORITY,  # before pages that only a digest waits for
        )
    except (FetchError, FeedParseError, WorkerError) as exc:
        return await _failure(svc, feed, state, now, exc)

    report = FeedReport(feed.name, "fetched")
    identities = [entry_identity(e) for e in parsed.entries]
    seen = await in_thread(svc.store.seen, state.id, identities) if state.id > 0 else set()
    first_poll = state.id <= 0 or not await in_thread(svc.store.has_seen_any, state.id)
    selection = select_new(
        parsed.entries,
        seen,
        first_poll=first_poll,
        now=now,
        backfill=svc.config.defaults.backfill,
        max_new=svc.config.defaults.max_new_per_poll,
    )
    report.baseline = len(selection.record_only)
    report.flood = selection.flood
    if selection.record_only and not svc.dry_run:
        await in_thread(svc.store.mark_seen, state.id, selection.record_only, now)
    gate = asyncio.Semaphore(ENTRY_CONCURRENCY)

    async def one(identity: str, entry: FeedEntry) -> NewArticle | None:
        async with gate:
            return await process_entry(svc, feed, state, identity, entry, now=now)

    results = await asyncio.gather(*(one(i, e) for i, e in selection.new))
    report.articles = [r for r in results if r is not None]
    when = _schedule(svc, feed, state, now, errors=0, cache_control=cache_control, parsed=parsed)
    await _record_success(
        svc, state, fetched, now=now, next_poll_at=when, entries_added=len(report.articles)
    )
    return report


async def _record_success(
    svc: Services,
    state: FeedState,
    fetched: FeedFetch,
    *,
    now: datetime,
    next_poll_at: datetime,
    entries_added: int = 0,
) -> None:
    """Record a successful poll (a 304 or unchanged body keeps the stored body hash)."""
    if svc.dry_run:
        return
    new_body = fetched.status is FetchStatus.FETCHED
    outcome = PollOutcome(
        now=now,
        ok=True,
        next_poll_at=next_poll_at,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        body_hash=fetched.body_hash if new_body else None,
        new_url=fetched.permanent_url,
        entries_added=entries_added,
    )
    await in_thread(svc.store.record_poll, state.id, outcome)


async def poll_feeds(
    svc: Services,
    states: Sequence[FeedState],
    on_done: Callable[[FeedReport], None] | None = None,
) -> list[FeedReport]:
    """Poll ``states`` concurrently (the HTTP client bounds concurrency globally and per host)."""
    by_name = {f.name: f for f in svc.config.feeds}

    async def one(state: FeedState) -> FeedReport:
        report = await poll_feed(svc, by_name[state.name], state)
        if on_done:
            on_done(report)
        return report

    return list(await asyncio.gather(*(one(s) for s in states if s.name in by_name)))


def transient_state(feed: Feed, now: datetime) -> FeedState:
    """A stand-in state for a feed the store has never seen (``--dry-run`` writes nothing).

    Its id is 0, so it has no seen-state and counts as a first poll.
    """
    return FeedState(
        id=0,
        name=feed.name,
        url=feed.url,
        original_url=feed.url,
        tags=feed.tags,
        enabled=feed.enabled,
        status="active",
        disabled_reason=None,
        etag=None,
        last_modified=None,
        body_hash=None,
        next_poll_at=now,
        last_polled_at=None,
        last_success_at=None,
        error_count=0,
        last_error=None,
        last_error_kind=None,
        interval_seconds=None,
        interval_auto=feed.interval == "auto",
        lease_until=None,
        entries_count=0,
        last_new_entries=0,
        created_at=now,
    )
