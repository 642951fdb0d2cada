"""Plain data shared by the stages: what flows from feeds to articles to matches.

Everything here is a frozen dataclass with no behaviour beyond small derived values, so the
stages can pass it across process boundaries (pickle) and compare it in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class HttpResponse:
    """A fully read, size-capped HTTP response.

    ``url`` is the final URL after redirects; ``permanent_url`` is set when every redirect on
    the way was permanent (301/308), so a feed's stored URL can be updated.
    Header names are lower-case.
    """

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    permanent_url: str | None = None


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, as parsed; text fields are as the feed gave them (may hold HTML)."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    content: str = ""


@dataclass(frozen=True)
class ParsedFeed:
    """The result of parsing one feed document."""

    title: str
    link: str | None
    format: str  # "rss20", "atom10", "json1", ...
    entries: tuple[FeedEntry, ...]
    bozo: bool = False
    bozo_reason: str | None = None
    ttl_minutes: int | None = None


@dataclass(frozen=True)
class ExtractedPage:
    """What the cleaner keeps of one HTML page."""

    title: str | None
    author: str | None
    published: datetime | None
    language: str | None
    text: str
    removed_blocks: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Article:
    """A cleaned article ready for matching and storing.

    ``text_source`` says where the text came from: ``"page"`` (the extracted web page) or
    ``"summary"`` (the feed's own summary, used when the page could not be fetched or
    extracted; ``fallback_reason`` then says why).
    """

    feed: str
    url: str
    canonical_url: str
    title: str
    text: str
    published: datetime | None
    language: str | None
    author: str | None
    content_hash: str
    text_source: str = "page"
    fallback_reason: str | None = None
    tags: tuple[str, ...] = field(default=())
