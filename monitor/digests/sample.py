"""Sample digests for checking templates and previewing them: full, one story, empty.

The full sample holds the hostile text every template must survive: markup in titles, a
``javascript:`` link, control characters, Slack mentions, right-to-left text, missing dates.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from monitor.digests.build import BuiltDigest, Source, Story, StoryGroup
from monitor.digests.view import DigestView, digest_view
from monitor.model import Snippet

_TZ = ZoneInfo("Europe/London")
_NOW = datetime(2023, 10, 10, 6, 0, tzinfo=UTC).astimezone(_TZ)


def _span(text: str, word: str) -> tuple[int, int]:
    start = text.index(word)
    return start, start + len(word)


def _story(title: str, url: str, feed: str, hour: int | None) -> Story:
    published = datetime(2023, 10, 9, hour, 5, tzinfo=UTC).astimezone(_TZ) if hour else None
    text = "… Hamas officials visited Damascus on Monday, <b>sources</b> said …"
    return Story(
        title=title,
        url=url,
        feed=feed,
        published=published,
        seen=_NOW,
        rules=("hamas-damascus",),
        terms=("hamas", "damascus"),
        snippets=(Snippet("text", text, (_span(text, "Hamas"), _span(text, "Damascus"))),),
        sources=(),
        novel_actors=(),
        priority=0,
        group="Syria",
        article_ids=(1,),
    )


def sample_digests() -> list[BuiltDigest]:
    """A full digest with hostile text, a one-story digest, and an empty one."""
    wire = replace(
        _story(
            'Hamas delegation in Damascus <script>alert("x")</script> & more',
            "https://news.example.org/world/hamas-damascus?id=1&src=rss",
            "wire-feed",
            14,
        ),
        rules=("hamas-damascus", "axis-new-alignments"),
        sources=(
            Source("outlet-b", "https://b.example.net/story", "Hamas in Damascus", None),
            Source("outlet-c", "javascript:alert(1)", "Hamas visits Syria", _NOW),
        ),
        novel_actors=("hamas",),
        priority=10,
    )
    hostile = replace(
        _story(
            "Breaking\r\nBcc: victim@example.com <!channel> @here \u202eevil",
            "javascript:alert(document.cookie)",
            "odd-feed",
            None,
        ),
        snippets=(Snippet("title", "x" * 5, ((0, 2), (1, 4), (9, 20))),),
        group="hamas-damascus",
    )
    arabic = _story("وفد من حماس في دمشق", "https://ar.example.org/1", "arabic-feed", 9)
    full = BuiltDigest(
        name="daily",
        title="Middle East daily",
        timezone="Europe/London",
        created=_NOW,
        groups=(StoryGroup("Syria", (wire, arabic)), StoryGroup("hamas-damascus", (hostile,))),
        more=7,
        queue_ids=(1, 2, 3),
        already_sent=1,
        merged=2,
        send=True,
    )
    single = BuiltDigest(
        name="urgent",
        title="Urgent",
        timezone="Europe/London",
        created=_NOW,
        groups=(StoryGroup("Syria", (wire,)),),
        more=0,
        queue_ids=(1,),
        already_sent=0,
        merged=0,
        send=True,
    )
    empty = BuiltDigest("weekly", "Weekly", "Europe/London", _NOW, (), 0, (), 0, 0, True)
    return [full, single, empty]


def sample_views() -> list[DigestView]:
    """The template contexts of ``sample_digests``."""
    return [digest_view(d) for d in sample_digests()]
