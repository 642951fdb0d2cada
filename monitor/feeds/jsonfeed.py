"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/) into the feed model.

feedparser 6 does not read JSON Feed, so this small reader does. It is lenient the way feed
readers are: numeric ids become strings, a missing title is empty, items that are not
objects are skipped, and unparseable dates are ``None``. ``content_html`` goes through
feedparser's HTML sanitiser, as RSS and Atom text does (``summary`` is plain text by spec).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.sanitizer import _sanitize_html

from monitor.errors import FeedParseError
from monitor.feeds.text import clean_line, from_struct_time, optional_line
from monitor.model import FeedEntry, ParsedFeed

_VERSIONS = {
    "https://jsonfeed.org/version/1": "json1",
    "https://jsonfeed.org/version/1.1": "json11",
}


def looks_like_json(body: bytes, content_type: str) -> bool:
    """True when the body starts with ``{``, or is declared JSON and does not start with ``<``."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return head == b"{" or ("json" in content_type.lower() and head != b"<")


def is_json_feed(document: object) -> bool:
    """True for a JSON object whose ``version`` names a jsonfeed.org version."""
    if not isinstance(document, dict):
        return False
    version = document.get("version")
    return isinstance(version, str) and "jsonfeed.org/version/" in version


def load_json(body: bytes, url: str) -> Any:
    """Decode a JSON document (UTF-8, BOM tolerated) or raise FeedParseError."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FeedParseError(url, f"invalid JSON: {exc}") from None


def parse_json_feed(document: dict[str, Any], url: str) -> ParsedFeed:
    """Map a decoded JSON Feed document to ParsedFeed; its ``items`` must be an array."""
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedParseError(url, "JSON Feed without an items array")
    version = str(document.get("version", "")).rstrip("/")
    return ParsedFeed(
        title=clean_line(document.get("title")),
        link=_string(document.get("home_page_url")),
        format=_VERSIONS.get(version, "json"),
        entries=tuple(_entry(item) for item in items if isinstance(item, dict)),
    )


def _entry(item: dict[str, Any]) -> FeedEntry:
    content_html = _sanitized(item.get("content_html"))
    content_text = _text(item.get("content_text"))
    summary = _text(item.get("summary")) or content_html or content_text
    return FeedEntry(
        guid=_string(item.get("id")),
        link=_string(item.get("url")) or _string(item.get("external_url")),
        title=clean_line(item.get("title")),
        summary=summary,
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        author=_author(item),
        content=content_html or content_text,
    )


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    names = [
        name
        for author in candidates
        if isinstance(author, dict) and (name := optional_line(author.get("name")))
    ]
    return ", ".join(names) or None


def _string(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value).strip() or None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _sanitized(value: object) -> str:
    html = _text(value)
    return str(_sanitize_html(html, "utf-8", "text/html")) if html else ""


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return from_struct_time(_parse_date(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None
