"""Factories for digest and channel tests: queued entries, digest configs, rendered messages."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config.schema import Digest
from monitor.digests import Templates, build_digest, render_message
from monitor.model import Message
from monitor.store.records import DigestEntry

NOW = datetime(2023, 10, 10, 6, 0, tzinfo=UTC)
_TEMPLATES = Templates()


def evidence(
    rule: str, terms: Sequence[str], text: str = "", field: str = "text", **extra: Any
) -> dict[str, Any]:
    """Evidence JSON as the pipeline stores it, highlighting each term's first occurrence."""
    highlights = []
    lowered = text.lower()
    for term in terms:
        at = lowered.find(term.lower())
        if at >= 0:
            highlights.append([at, at + len(term)])
    snippets = [{"field": field, "text": text, "highlights": highlights}] if text else []
    return {
        "rule": rule,
        "priority": 0,
        "group": None,
        "terms": list(terms),
        "hits": [],
        "snippets": snippets,
        "novel_actors": [],
        **extra,
    }


def entry(
    article_id: int,
    title: str,
    text: str = "",
    *,
    feed: str = "feed",
    rule: str = "rule",
    terms: Sequence[str] = ("hamas",),
    published: datetime | None = None,
    url: str | None = None,
    queue_id: int | None = None,
    content_hash: str | None = None,
    evidence_extra: dict[str, Any] | None = None,
) -> DigestEntry:
    """A queued match of ``rule`` for the digest "daily"."""
    url = url or f"https://{feed}.example.org/story/{article_id}"
    snippet = text[:200] or title
    return DigestEntry(
        queue_id=queue_id if queue_id is not None else article_id * 10,
        digest="daily",
        rule=rule,
        evidence=evidence(rule, terms, snippet, **(evidence_extra or {})),
        enqueued_at=NOW - timedelta(minutes=5),
        article_id=article_id,
        feed=feed,
        url=url,
        canonical_url=url,
        title=title,
        text=text,
        published=published,
        language="en",
        author=None,
        tags=(),
        content_hash=content_hash or hashlib.sha256((title + text).encode()).hexdigest(),
        fetched_at=NOW - timedelta(hours=1),
    )


def digest(**values: Any) -> Digest:
    """A digest config named "daily" (schedule 7 am) with the given overrides."""
    return Digest.model_validate(
        {"name": "daily", "schedule": "0 7 * * *", "channels": ["files"], **values}
    )


def message_for(entries: Sequence[DigestEntry], **digest_values: Any) -> Message:
    """The rendered message of a digest of ``entries`` at ``NOW``."""
    built = build_digest(digest(**digest_values), entries, now=NOW)
    return render_message(built, _TEMPLATES)


def simple_message() -> Message:
    """A small two-story message."""
    return message_for(
        [
            entry(1, "Hamas officials visit Damascus", "Hamas officials visited Damascus today."),
            entry(2, "Hezbollah statement", "Hezbollah said hamas ...", feed="other"),
        ]
    )
