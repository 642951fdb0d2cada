"""Page metadata: title and author (trafilatura's rules) and a time-zone-aware date.

Title and author use trafilatura's meta, JSON-LD and markup rules, without the parts of its
``extract_metadata`` we do not need (categories, tags, licence, site name, URL checks). The
publication date is read from structured markup first (``article:published_time`` and
similar meta tags, JSON-LD ``datePublished``, ``<time datetime>``), keeping the time and
offset; a date without an offset is taken as UTC. htmldate's date-only guess from the URL and
header cues is the last resort.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title

from monitor.articles.byline import author_from_markup

# meta keys (name, property or itemprop, lower-cased) naming the publication time, best first
_PUBLISHED_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "article.published",
    "published_time",
    "publishdate",
    "publish-date",
    "publish_date",
    "pubdate",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
    "date",
)
_MIN_YEAR, _MAX_YEAR = 1990, 2100
_MAX_DATE = "2100-01-01"


def parse_datetime(value: str) -> datetime | None:
    """An ISO 8601 or RFC 2822 date as an aware datetime (UTC when no offset), else None."""
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def meta_values(tree: HtmlElement) -> dict[str, str]:
    """The page's ``<meta>`` contents by lower-cased property, name or itemprop (first wins)."""
    values: dict[str, str] = {}
    for meta in tree.iterfind(".//meta[@content]"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop") or ""
        values.setdefault(key.strip().lower(), meta.get("content") or "")
    return values


def json_ld(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD scripts, outermost first."""
    stack: list[Any] = []
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        try:
            stack.append(json.loads(script.text or "", strict=False))
        except ValueError:
            continue
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                stack.extend(v for k, v in item.items() if k == "@graph" or isinstance(v, dict))


def _is_article(item: dict[str, Any]) -> bool:
    types = item.get("@type")
    names = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and t.endswith(("Article", "BlogPosting")) for t in names)


def title_and_author(tree: HtmlElement) -> tuple[str | None, str | None]:
    """The page's title and author(s) as trafilatura finds them."""
    metadata = extract_meta_json(tree, examine_meta(tree))
    if metadata.author and " " not in metadata.author:
        metadata.author = None  # a single word is a site or handle more often than a person
    title = " ".join((metadata.title or extract_title(tree) or "").split())
    author = metadata.author or author_from_markup(tree)
    return title or None, author or None


def published_date(tree: HtmlElement, url: str | None = None) -> datetime | None:
    """The page's publication time from its markup, else htmldate's date from URL and header."""
    meta = meta_values(tree)
    candidates = [meta[key] for key in _PUBLISHED_KEYS[:3] if key in meta]
    items = list(json_ld(tree))
    candidates += [
        str(i["datePublished"]) for i in items if _is_article(i) and "datePublished" in i
    ]
    candidates += [str(i["datePublished"]) for i in items if "datePublished" in i]
    candidates += [meta[key] for key in _PUBLISHED_KEYS[3:] if key in meta]
    candidates += [
        t.get("datetime") or ""
        for t in tree.xpath('.//time[@datetime][@itemprop="datePublished" or @pubdate]')
    ]
    for value in candidates:
        if parsed := parse_datetime(value):
            return parsed
    # no clock here: the upper bound for a plausible date is fixed
    fallback = find_date(
        tree, extensive_search=False, original_date=True, url=url, max_date=_MAX_DATE
    )
    return parse_datetime(fallback) if fallback else None
