"""What the templates and builders see of a digest: clean, safe, formatted values (pure).

Every string that came from a feed is untrusted. Here it loses control characters (and bidi
overrides, a spoofing trick), titles collapse to one line, links keep only http(s) URLs (a
``javascript:`` link becomes no link), and snippets get their highlights in two forms: HTML
with ``<mark>`` (escaped here, so safe in an autoescaping template) and plain text with
``*asterisks*``. Times are already in the digest's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from monitor.digests.build import BuiltDigest, Source, Story
from monitor.model import Snippet

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
_URL_NOISE = re.compile(r"[\x00-\x20\x7f-\x9f]")
TIME_FORMAT = "%a %d %b %Y %H:%M %Z"


def clean(text: str) -> str:
    """``text`` without control characters (tabs and newlines stay) or bidi overrides."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str) -> str:
    """``text`` cleaned, on one line, runs of white space collapsed."""
    return _SPACE.sub(" ", clean(text)).strip()


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL, else None (no ``javascript:``, ``data:``)."""
    if not url:
        return None
    candidate = _URL_NOISE.sub("", url)
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return candidate


def spans(snippet: Snippet) -> list[tuple[int, int]]:
    """The snippet's highlights, clamped to its text, sorted and merged where they overlap."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(snippet.highlights):
        start, end = max(0, low), min(len(snippet.text), high)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def segments(snippet: Snippet) -> list[tuple[str, bool]]:
    """The snippet as (text, highlighted) pieces, cleaned and on one line."""
    pieces, at = [], 0
    for start, end in spans(snippet):
        pieces += [(snippet.text[at:start], False), (snippet.text[start:end], True)]
        at = end
    pieces.append((snippet.text[at:], False))
    cleaned = [(_SPACE.sub(" ", clean(t)), marked) for t, marked in pieces if t]
    if cleaned:
        cleaned[0] = (cleaned[0][0].lstrip(), cleaned[0][1])
        cleaned[-1] = (cleaned[-1][0].rstrip(), cleaned[-1][1])
    return [(t, marked) for t, marked in cleaned if t]


def marked(snippet: Snippet, mark: Callable[[str], str], plain: Callable[[str], str]) -> str:
    """The snippet with highlighted pieces passed through ``mark``, the rest through ``plain``."""
    return "".join(mark(t) if hit else plain(t) for t, hit in segments(snippet))


def _html_mark(text: str) -> str:
    return f"<mark>{escape(text)}</mark>"


def _text_mark(text: str) -> str:
    return f"*{text}*"


def _same(text: str) -> str:
    return text


def _html_plain(text: str) -> str:
    return str(escape(text))


def format_time(moment: datetime | None) -> str:
    """``Tue 10 Oct 2023 14:05 BST``, or "" for no time."""
    return moment.strftime(TIME_FORMAT) if moment else ""


@dataclass(frozen=True)
class SnippetView:
    """A snippet: ``text`` plain, ``html`` with ``<mark>``, ``marked`` with ``*asterisks*``;
    ``pieces`` are its (text, highlighted) segments for other formats."""

    field: str
    text: str
    html: Markup
    marked: str
    pieces: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class SourceView:
    feed: str
    url: str | None
    title: str
    published: datetime | None
    published_text: str


@dataclass(frozen=True)
class StoryView:
    title: str
    url: str | None
    feed: str
    published: datetime | None
    published_text: str
    rules: tuple[str, ...]
    terms: tuple[str, ...]
    snippets: tuple[SnippetView, ...]
    sources: tuple[SourceView, ...]
    novel_actors: tuple[str, ...]
    priority: int


@dataclass(frozen=True)
class GroupView:
    name: str
    stories: tuple[StoryView, ...]


@dataclass(frozen=True)
class DigestView:
    """The one variable ``digest`` that every template gets."""

    name: str
    title: str
    timezone: str
    created: datetime
    created_text: str
    groups: tuple[GroupView, ...]
    story_count: int
    more: int
    empty: bool


def snippet_view(snippet: Snippet) -> SnippetView:
    return SnippetView(
        field=snippet.field,
        text=marked(snippet, _same, _same),
        html=Markup(marked(snippet, _html_mark, _html_plain)),
        marked=marked(snippet, _text_mark, _same),
        pieces=tuple(segments(snippet)),
    )


def _source_view(source: Source) -> SourceView:
    return SourceView(
        feed=one_line(source.feed),
        url=safe_url(source.url),
        title=one_line(source.title),
        published=source.published,
        published_text=format_time(source.published),
    )


def _words(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(one_line(v) for v in values)


def story_view(story: Story) -> StoryView:
    return StoryView(
        title=one_line(story.title) or "(untitled)",
        url=safe_url(story.url),
        feed=one_line(story.feed),
        published=story.published,
        published_text=format_time(story.published),
        rules=_words(story.rules),
        terms=_words(story.terms),
        snippets=tuple(snippet_view(s) for s in story.snippets),
        sources=tuple(_source_view(s) for s in story.sources),
        novel_actors=_words(story.novel_actors),
        priority=story.priority,
    )


def digest_view(built: BuiltDigest) -> DigestView:
    """The template context of ``built``."""
    groups = tuple(
        GroupView(one_line(g.name), tuple(story_view(s) for s in g.stories)) for g in built.groups
    )
    return DigestView(
        name=built.name,
        title=one_line(built.title) or built.name,
        timezone=built.timezone,
        created=built.created,
        created_text=format_time(built.created),
        groups=groups,
        story_count=built.story_count,
        more=built.more,
        empty=built.story_count == 0,
    )
