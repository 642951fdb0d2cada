"""Plain data shared by the stages: what flows from feeds to articles to matches.

Everything here is a frozen dataclass with no behaviour beyond small derived values, so the
stages can pass it across process boundaries (pickle) and compare it in tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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


@dataclass(frozen=True)
class Document:
    """What the rule matcher reads of an article.

    ``feed`` and ``tags`` serve a rule's ``sources`` filter, ``language`` its ``languages``
    filter (a document without a language matches only rules without that filter).
    """

    title: str
    text: str
    feed: str = ""
    tags: tuple[str, ...] = ()
    language: str | None = None

    @classmethod
    def from_article(cls, article: Article) -> Document:
        return cls(article.title, article.text, article.feed, article.tags, article.language)


@dataclass(frozen=True)
class Hit:
    """Where a term of a rule occurred: ``field`` is ``"title"`` or ``"text"``, ``start`` and
    ``end`` are token indexes (``end`` exclusive); ``term`` is spelled as in the query."""

    term: str
    field: str
    start: int
    end: int


@dataclass(frozen=True)
class Snippet:
    """About thirty words of a field around the evidence; ``highlights`` are character spans
    of ``text`` (start, end exclusive) to emphasise."""

    field: str
    text: str
    highlights: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Match:
    """A rule that matched a document, with its evidence.

    ``terms`` are the query's terms that fired (query spelling, query order); ``hits`` their
    positions (at most 25 per term); ``snippets`` one to three passages with highlights.
    For novelty rules ``actors`` are the tracked entities seen near the anchor and
    ``novel_actors`` those not seen with it within the rule's period (filled in by
    ``monitor.matching.novelty.decide``; empty until then).
    """

    rule: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    snippets: tuple[Snippet, ...]
    notify: tuple[str, ...] = ()
    priority: int = 0
    group: str | None = None
    immediate: bool = False
    actors: tuple[str, ...] = ()
    novel_actors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (lists for tuples); ``Match.from_json`` reverses it."""
        return {
            "rule": self.rule,
            "terms": list(self.terms),
            "hits": [[h.term, h.field, h.start, h.end] for h in self.hits],
            "snippets": [
                {"field": s.field, "text": s.text, "highlights": [list(h) for h in s.highlights]}
                for s in self.snippets
            ],
            "notify": list(self.notify),
            "priority": self.priority,
            "group": self.group,
            "immediate": self.immediate,
            "actors": list(self.actors),
            "novel_actors": list(self.novel_actors),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Match:
        return cls(
            rule=data["rule"],
            terms=tuple(data["terms"]),
            hits=tuple(Hit(t, f, s, e) for t, f, s, e in data["hits"]),
            snippets=tuple(
                Snippet(s["field"], s["text"], tuple((a, b) for a, b in s["highlights"]))
                for s in data["snippets"]
            ),
            notify=tuple(data.get("notify", ())),
            priority=int(data.get("priority", 0)),
            group=data.get("group"),
            immediate=bool(data.get("immediate", False)),
            actors=tuple(data.get("actors", ())),
            novel_actors=tuple(data.get("novel_actors", ())),
        )


@dataclass(frozen=True)
class Message:
    """A rendered digest, ready for any channel (``monitor.digests.render`` builds it).

    ``subject`` is one line of plain text (the e-mail subject); ``text`` and ``html`` are the
    e-mail bodies (CSS already inlined); ``slack`` holds one Slack webhook payload per message
    (``{"text": ..., "blocks": [...]}``, already split to Slack's limits); ``payload`` is the
    webhook JSON document. ``created`` (aware) is when the digest was built: the e-mail
    ``Date``, identical across retries. ``to_json``/``from_json`` carry it through the outbox.
    """

    digest: str
    subject: str
    text: str
    html: str
    slack: tuple[Mapping[str, Any], ...]
    payload: Mapping[str, Any]
    created: datetime
    stories: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict; ``Message.from_json`` reverses it."""
        return {
            "digest": self.digest,
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "slack": [dict(m) for m in self.slack],
            "payload": dict(self.payload),
            "created": self.created.isoformat(),
            "stories": self.stories,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        return cls(
            digest=data["digest"],
            subject=data["subject"],
            text=data["text"],
            html=data["html"],
            slack=tuple(data["slack"]),
            payload=data["payload"],
            created=datetime.fromisoformat(data["created"]),
            stories=int(data.get("stories", 0)),
        )
