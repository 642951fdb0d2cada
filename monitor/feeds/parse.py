"""Feed bytes + response headers → ParsedFeed (pure; the pipeline runs it in a WorkerPool).

RSS, Atom and RDF go through feedparser, which only ever sees the bytes (a file object, so a
body can never be mistaken for a URL or a file name); JSON Feed 1.0/1.1 is read by
``monitor.feeds.jsonfeed``. feedparser sanitises HTML in text fields (scripts, styles and
unsafe attributes go). Entry and feed links are resolved against the feed's URL (or its
Content-Location); relative URIs inside content HTML are left alone, because resolving them
re-parses every HTML block (half of feedparser's time on large feeds) for links nobody renders.
Without a Content-Type header no headers reach feedparser: with some headers but none of
those, it would decode a document lacking an XML declaration as ISO-8859-1 (RFC 3023).

Policy:
- A document that yields entries is used even when ill-formed (``bozo=True``, ``bozo_reason``).
- A well-formed feed with no entries is a valid, empty ParsedFeed.
- No entries and ill-formed (or not a feed at all: an HTML page, garbage, some other XML or
  JSON document) raises ``FeedParseError`` with the reason.
- Dates are aware UTC datetimes from feedparser's ``*_parsed`` values; unparseable dates are
  ``None``. Dates in the future are kept as given: clamping them is the caller's choice.
- Titles and authors are single lines with control characters removed; summaries and
  content are left as (sanitised) HTML.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.errors import FeedParseError
from monitor.feeds.jsonfeed import is_json_feed, load_json, looks_like_json, parse_json_feed
from monitor.feeds.text import clean_line, from_struct_time, optional_line
from monitor.model import FeedEntry, ParsedFeed

_HARMLESS_BOZO = (
    feedparser.CharacterEncodingOverride,
    feedparser.CharacterEncodingUnknown,
    feedparser.NonXMLContentType,
)
_MAX_TTL_MINUTES = 60 * 24 * 365


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Parse one feed document; raise FeedParseError when it holds nothing usable."""
    lowered = {name.lower(): value for name, value in headers.items()}
    content_type = lowered.get("content-type", "")
    if not body.strip():
        raise FeedParseError(url, "empty document")
    if looks_like_json(body, content_type):
        document = load_json(body, url)
        if not is_json_feed(document):
            raise FeedParseError(url, "JSON document is not a JSON Feed")
        return parse_json_feed(document, url)

    # Relative links resolve against the Content-Location, itself relative to the feed URL.
    base = _join(url, lowered.get("content-location", "")) or url
    passed: dict[str, str] = {}
    if content_type:
        passed = {"content-type": content_type, "content-location": base}
        if "content-language" in lowered:
            passed["content-language"] = lowered["content-language"]
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=passed,
        sanitize_html=True,
        resolve_relative_uris=False,
    )
    return _from_feedparser(result, body, content_type, url, base)


def _from_feedparser(
    result: Any, body: bytes, content_type: str, url: str, base: str
) -> ParsedFeed:
    entries = tuple(_entry(raw, base) for raw in result.entries)
    error = result.get("bozo_exception") if result.bozo else None
    reason = _describe(error) if error is not None else None
    version = result.get("version") or ""
    if not entries:
        if _is_html(body, content_type) and not version:
            raise FeedParseError(url, "an HTML page, not a feed")
        if not version and (error is not None or not _has_channel(result.feed)):
            found = "no RSS, Atom, RDF or JSON Feed document found"
            raise FeedParseError(url, f"{found} ({reason})" if reason else found)
        if error is not None and not isinstance(error, _HARMLESS_BOZO):
            raise FeedParseError(url, f"ill-formed feed with no entries ({reason})")
    feed = result.feed
    return ParsedFeed(
        title=clean_line(dict.get(feed, "title")),
        link=_join(base, optional_line(dict.get(feed, "link"))),
        format=version or "unknown",
        entries=entries,
        bozo=error is not None,
        bozo_reason=reason,
        ttl_minutes=_ttl(dict.get(feed, "ttl")),
    )


def _entry(raw: Any, base: str) -> FeedEntry:
    # dict.get bypasses FeedParserDict's deprecated updated→published fallback (it warns).
    return FeedEntry(
        guid=optional_line(dict.get(raw, "id")),
        link=_join(base, optional_line(dict.get(raw, "link"))),
        title=clean_line(dict.get(raw, "title")),
        summary=_html(dict.get(raw, "summary")),
        published=from_struct_time(dict.get(raw, "published_parsed")),
        updated=from_struct_time(dict.get(raw, "updated_parsed")),
        author=optional_line(dict.get(raw, "author")),
        content=_content(dict.get(raw, "content")),
    )


def _content(parts: object) -> str:
    """The richest content block: the first HTML one, else the first of any type."""
    if not isinstance(parts, list) or not parts:
        return ""
    for part in parts:
        if "html" in str(part.get("type", "")):
            return _html(part.get("value"))
    return _html(parts[0].get("value"))


def _join(base: str, link: str | None) -> str | None:
    if link is None:
        return None
    try:
        return urljoin(base, link)
    except ValueError:  # e.g. a malformed IPv6 host
        return link


def _html(value: object) -> str:
    return value.replace("\x00", "") if isinstance(value, str) else ""


def _ttl(value: object) -> int | None:
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return minutes if 0 < minutes <= _MAX_TTL_MINUTES else None


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 300 else text[:299] + "…"


def _has_channel(feed: Any) -> bool:
    """A feed-level title or link: a channel feedparser could not name (CDF, say)."""
    return bool(dict.get(feed, "title") or dict.get(feed, "link"))


def _is_html(body: bytes, content_type: str) -> bool:
    if "html" in content_type.lower() and "xhtml" not in content_type.lower():
        return True
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))
