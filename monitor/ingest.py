"""One new feed entry in, one stored article out: fetch its page, clean it in a worker,
match it, commit it with everything it produced.

A page that cannot be fetched or cleaned falls back to the feed's own text, with the reason
recorded on the article; the host's learned boilerplate (paragraphs repeated across its
articles) is read from the store, cached for a few minutes, and fed back as pages arrive.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.alerts import Alerts, Matcher
from monitor.articles.boilerplate import learned_boilerplate, paragraph_fingerprints
from monitor.articles.download import download_page
from monitor.articles.extract import extract_job
from monitor.articles.summary import html_to_text
from monitor.config.schema import Feed
from monitor.errors import ExtractError, FetchError, WorkerError
from monitor.model import Article, Document, ExtractedPage, FeedEntry
from monitor.services import PAGE_PRIORITY, URGENT_PRIORITY, Services, in_thread
from monitor.store import FeedState
from monitor.urls import canonicalize_url, host_of

log = logging.getLogger("monitor.pipeline")

BOILERPLATE_TTL = timedelta(minutes=5)
"""How long a host's learned boilerplate is reused before it is read from the store again."""
LEARNED_AFTER = 3
"""A paragraph is the host's boilerplate once this many of its articles carried it."""


@dataclass(frozen=True)
class NewArticle:
    """An article the poll processed, with what matched (for ``monitor once --json``)."""

    article: Article
    alerts: Alerts


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
    counts = await in_thread(svc.store.host_block_counts, host, LEARNED_AFTER)
    learned = learned_boilerplate(counts, LEARNED_AFTER)
    svc.boilerplate[host] = (now, learned)
    return learned


def page_priority(matcher: Matcher, feed: Feed, entry: FeedEntry) -> int:
    """The worker priority of the entry's page: urgent when the feed's own text of the entry
    already matches an immediate-alert rule."""
    if not matcher.alerts_at_once:
        return PAGE_PRIORITY
    doc = Document(html_to_text(entry.title), _entry_text(entry), feed.name, feed.tags)
    return URGENT_PRIORITY if matcher.urgent(doc) else PAGE_PRIORITY


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
                extract_job,
                downloaded.body,
                url,
                learned,
                downloaded.charset,
                priority=page_priority(svc.matcher, feed, entry),
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


async def process_entry(
    svc: Services, feed: Feed, state: FeedState, identity: str, entry: FeedEntry, *, now: datetime
) -> NewArticle | None:
    """Turn one new entry into a stored article; None when the same story (canonical URL)
    was already stored from another entry or feed."""
    article, blocks = await _article_for(svc, feed, entry, now)
    if not article.canonical_url:
        article = replace(article, canonical_url=f"entry:{state.id}:{identity}")
    alerts = svc.matcher.match(article, now=now)
    if not svc.dry_run:
        saved = await in_thread(
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
