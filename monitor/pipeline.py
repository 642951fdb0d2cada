"""The one module that strings the stages together: poll → parse → select → extract → match → store.

Expected failures are isolated where they happen: a feed that cannot be fetched or parsed is
recorded on the feed (with backoff) and the others go on; an article page that cannot be
fetched or cleaned falls back to the feed's own summary, with the reason recorded. Anything
else is a bug and propagates.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from monitor.alerts import Alerts, Matcher
from monitor.articles.boilerplate import learned_boilerplate, paragraph_fingerprints
from monitor.articles.download import download_page
from monitor.articles.extract import extract_job
from monitor.articles.summary import html_to_text
from monitor.config.schema import Config, Feed
from monitor.crashpoints import crashpoint
from monitor.errors import ExtractError, FeedParseError, FetchError, HTTPStatusError, WorkerError
from monitor.feeds.fetch import FeedFetch, FetchStatus, fetch_feed
from monitor.feeds.identity import entry_identity, select_new
from monitor.feeds.parse import parse_feed
from monitor.feeds.schedule import next_poll_at
from monitor.http import HttpClient
from monitor.model import Article, ExtractedPage, FeedEntry, ParsedFeed
from monitor.store import FeedState, PollOutcome, Store
from monitor.urls import canonicalize_url, host_of
from monitor.workers import WorkerPool

log = logging.getLogger("monitor.pipeline")
P = ParamSpec("P")
T = TypeVar("T")

ENTRY_CONCURRENCY = 8
"""Article pages of one feed downloaded at once (the HTTP client also limits per host)."""

FEED_LEASE = timedelta(minutes=10)
BOILERPLATE_TTL = timedelta(minutes=5)
LEARNED_AFTER = 3
"""A paragraph is the host's boilerplate once this many of its articles carried it."""
"""How long a host's learned boilerplate is reused before it is read from the store again."""


@dataclass
class Services:
    """The edges one poll needs, built once per config by the CLI or the daemon."""

    config: Config
    store: Store
    client: HttpClient
    pool: WorkerPool
    matcher: Matcher
    clock: Callable[[], datetime]
    dry_run: bool = False
    boilerplate: dict[str, tuple[datetime, frozenset[str]]] = field(default_factory=dict)
    on_stored: Callable[[Alerts], None] | None = None
    """Called once a new article and what it produced are committed (the daemon wakes the
    relay there for immediate alerts, without waiting for the rest of the feed)."""


@dataclass(frozen=True)
class NewArticle:
    """An article the poll processed, with what matched (for ``monitor once --json``)."""

    article: Article
    alerts: Alerts


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


async def _db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking store call in a thread, so deadlines of requests in flight keep time."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def content_hash(title: str, text: str) -> str:
    normalised = " ".join(f"{title}\n{text}".split()).casefold()
    return hashlib.sha256(normalised.encode()).hexdigest()


def _first_words(text: str, limit: int = 80) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + "…"


def _entry_text(entry: FeedEntry) -> str:
    return html_to_text(entry.content or entry.summary)


async def _learned(svc: Services, host: str, now: datetime) -> frozenset[str]:
    """The host's learned boilerplate, read from the store at most every few minutes."""
    cached = svc.boilerplate.get(host)
    if cached is not None and now - cached[0] < BOILERPLATE_TTL:
        return cached[1]
    # Only fingerprints already seen often enough to count: a busy host has many others.
    counts = await _db(svc.store.host_block_counts, host, LEARNED_AFTER)
    learned = learned_boilerplate(counts, LEARNED_AFTER)
    svc.boilerplate[host] = (now, learned)
    return learned


async def _article_for(
    svc: Services, feed: Feed, entry: FeedEntry, now: datetime
) -> tuple[Article, tuple[str, list[str]] | None]:
    """Download and clean the entry's page, or fall back to the feed's own text.

    Also returns the page's host and paragraph fingerprints, for the learned boilerplate.
    """
    fetch = (
        svc.config.defaults.fetch_articles if feed.fetch_articles is None else feed.fetch_articles
    )
    url = entry.link or ""
    page: ExtractedPage | None = None
    blocks: tuple[str, list[str]] | None = None
    reason: str | None = None
    if not entry.link:
        reason = "the entry has no link"
    elif not fetch:
        reason = "article fetching is off for this feed"
    else:
        try:
            downloaded = await download_page(
                svc.client, entry.link, max_bytes=svc.config.http.max_article_bytes
            )
            url = downloaded.url
            host = host_of(url)
            learned = await _learned(svc, host, now)
            page = await svc.pool.run(
                extract_job, downloaded.body, url, learned, downloaded.charset
            )
            blocks = (host, paragraph_fingerprints(page.text))
        except (FetchError, ExtractError, WorkerError) as exc:
            reason = str(exc)
            log.info(
                "article %s: using the feed's summary (%s)",
                entry.link,
                reason,
                extra={
                    "event": "article.fallback",
                    "feed": feed.name,
                    "url": entry.link,
                    "reason": reason,
                },
            )
    text = page.text if page else _entry_text(entry)
    title = (
        html_to_text(entry.title)
        or (page.title if page and page.title else "")
        or _first_words(text)
        or url
    )
    article = Article(
        feed=feed.name,
        url=url,
        canonical_url=canonicalize_url(url) if url else "",
        title=title,
        text=text,
        published=entry.published or (page.published if page else None),
        language=page.language if page else None,
        author=entry.author or (page.author if page else None),
        content_hash=content_hash(title, text),
        text_source="page" if page else "summary",
        fallback_reason=reason,
        tags=feed.tags,
    )
    return article, blocks


async def _process_entry(
    svc: Services, feed: Feed, state: FeedState, identity: str, entry: FeedEntry, *, now: datetime
) -> NewArticle | None:
    article, blocks = await _article_for(svc, feed, entry, now)
    if not article.canonical_url:
        article = replace(article, canonical_url=f"entry:{state.id}:{identity}")
    alerts = svc.matcher.match(article, now=now)
    if not svc.dry_run:
        saved = await _db(
            svc.store.save_article,
            state.id,
            identity,
            article,
            alerts.matches,
            (),
            alerts.digest_items,
            alerts.novelty,
            now,
            host_blocks=blocks,
        )
        if saved is None:
            return None  # the same story was already stored from another entry or feed
        if svc.on_stored is not None:
            svc.on_stored(alerts)
    for m in alerts.found:
        log.info(
            "rule %s matched %s",
            m.rule,
            article.url,
            extra={"event": "rule.matched", "feed": feed.name, "rule": m.rule, "url": article.url},
        )
    return NewArticle(article, alerts)


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
        await _db(
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
            parse_feed, fetched.response.body, headers, fetched.response.url
        )
    except (FetchError, FeedParseError, WorkerError) as exc:
        return await _failure(svc, feed, state, now, exc)

    report = FeedReport(feed.name, "fetched")
    identities = [entry_identity(e) for e in parsed.entries]
    seen = await _db(svc.store.seen, state.id, identities) if state.id > 0 else set()
    first_poll = state.id <= 0 or not await _db(svc.store.has_seen_any, state.id)
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
        await _db(svc.store.mark_seen, state.id, selection.record_only, now)
    gate = asyncio.Semaphore(ENTRY_CONCURRENCY)

    async def one(identity: str, entry: FeedEntry) -> NewArticle | None:
        async with gate:
            return await _process_entry(svc, feed, state, identity, entry, now=now)

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
    await _db(svc.store.record_poll, state.id, outcome)


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
