"""Helpers for the store tests: fixed times and factories for configs and articles."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.config.schema import Feed
from monitor.model import Article

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def feed(name: str, url: str | None = None, **kw: object) -> Feed:
    """A configured feed."""
    return Feed.model_validate({"name": name, "url": url or f"https://{name}.example/feed", **kw})


def article(url: str = "https://news.example/a/1", **kw: object) -> Article:
    """A cleaned article with plausible fields."""
    fields: dict[str, object] = {
        "feed": "alpha",
        "url": url + "?utm_source=rss",
        "canonical_url": url,
        "title": "Talks resume in Damascus",
        "text": "Delegations met on Tuesday.\n\nNo agreement was announced.",
        "published": T0,
        "language": "en",
        "author": "A. Writer",
        "content_hash": "c0ffee",
        "tags": ("syria",),
    }
    fields.update(kw)
    return Article(**fields)  # type: ignore[arg-type]
