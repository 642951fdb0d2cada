"""The webhook JSON document of a digest (pure; a data contract, so built in code).

The envelope follows the Standard Webhooks recommendation (``type``, ``timestamp``,
``data``); ``data.version`` is bumped on any incompatible change. Text is cleaned as for every
output (no control characters, titles on one line) and ``url`` is null unless it is an
http(s) URL. Snippet ``highlights`` are [start, end) offsets into that snippet's ``text``.
Documented field by field in docs/digests.md.
"""

from __future__ import annotations

from typing import Any

from monitor.digests.view import DigestView, SnippetView, StoryView

EVENT_TYPE = "digest.created"
VERSION = 1


def _highlights(snippet: SnippetView) -> list[list[int]]:
    spans, at = [], 0
    for text, hit in snippet.pieces:
        if hit:
            spans.append([at, at + len(text)])
        at += len(text)
    return spans


def _story(story: StoryView) -> dict[str, Any]:
    return {
        "title": story.title,
        "url": story.url,
        "feed": story.feed,
        "published": story.published.isoformat() if story.published else None,
        "rules": list(story.rules),
        "terms": list(story.terms),
        "priority": story.priority,
        "novel_actors": list(story.novel_actors),
        "snippets": [
            {"field": s.field, "text": s.text, "highlights": _highlights(s)} for s in story.snippets
        ],
        "sources": [
            {
                "feed": s.feed,
                "url": s.url,
                "title": s.title,
                "published": s.published.isoformat() if s.published else None,
            }
            for s in story.sources
        ],
    }


def webhook_payload(view: DigestView) -> dict[str, Any]:
    """The JSON document POSTed to webhook channels."""
    return {
        "type": EVENT_TYPE,
        "timestamp": view.created.isoformat(),
        "data": {
            "version": VERSION,
            "digest": view.name,
            "title": view.title,
            "timezone": view.timezone,
            "story_count": view.story_count,
            "more": view.more,
            "groups": [
                {"name": g.name, "stories": [_story(s) for s in g.stories]} for g in view.groups
            ],
        },
    }
