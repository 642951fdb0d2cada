"""Build a digest from its queued matches (pure: data in, data out; ``now`` is a parameter).

One story, one entry: the matches of one article merge (every rule it matched, every term
that fired), and articles that are near-duplicates of each other (``monitor.digests.cluster``)
or share a content hash merge into one story that lists the other outlets as ``sources``.
A story already sent in an earlier run of the same digest (same canonical URL, same content
hash, or a near-copy of a sent title) is dropped.

Order: stories by rule priority (highest first), then newest first; at most
``Digest.max_stories`` are listed and the rest counted in ``more``. Listed stories are grouped
under their rule's ``group`` (or the rule name), groups in the order of their first story.
A story that matched several rules sits under its highest-priority rule.

Every queued item is consumed by the run (``queue_ids``): listed, merged, already sent or
over the cap alike, so nothing lingers in the queue. ``send`` is False for an empty digest
unless ``Digest.send_empty``; the caller still records the run to consume the queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config.schema import Digest, Rule
from monitor.digests.cluster import TitleIndex, near_duplicate_groups
from monitor.model import Snippet
from monitor.store.records import DigestEntry, SentItem

MAX_SNIPPETS = 3


@dataclass(frozen=True)
class Source:
    """Another outlet that carried the story."""

    feed: str
    url: str
    title: str
    published: datetime | None


@dataclass(frozen=True)
class Story:
    """One entry of a digest. Times are in the digest's time zone; ``published`` is None
    when the feed gave no date (``seen`` is when monitor fetched it)."""

    title: str
    url: str
    feed: str
    published: datetime | None
    seen: datetime
    rules: tuple[str, ...]
    terms: tuple[str, ...]
    snippets: tuple[Snippet, ...]
    sources: tuple[Source, ...]
    novel_actors: tuple[str, ...]
    priority: int
    group: str
    article_ids: tuple[int, ...]

    @property
    def time(self) -> datetime:
        """When the story was published, else when it was seen."""
        return self.published or self.seen


@dataclass(frozen=True)
class StoryGroup:
    name: str
    stories: tuple[Story, ...]


@dataclass(frozen=True)
class BuiltDigest:
    """A digest ready to render. ``created`` is ``now`` in the digest's time zone."""

    name: str
    title: str
    timezone: str
    created: datetime
    groups: tuple[StoryGroup, ...]
    more: int
    queue_ids: tuple[int, ...]
    already_sent: int
    merged: int
    send: bool

    @property
    def stories(self) -> tuple[Story, ...]:
        """The listed stories, in order."""
        return tuple(s for g in self.groups for s in g.stories)

    @property
    def story_count(self) -> int:
        return sum(len(g.stories) for g in self.groups)


@dataclass(frozen=True)
class _Article:
    entries: tuple[DigestEntry, ...]

    @property
    def first(self) -> DigestEntry:
        return self.entries[0]

    def time(self) -> datetime:
        return _aware(self.first.published or self.first.fetched_at)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _snippets(evidence: Mapping[str, Any]) -> list[Snippet]:
    result = []
    for raw in evidence.get("snippets") or ():
        text = str(raw.get("text", ""))
        spans = tuple(
            (int(s), int(e))
            for s, e in raw.get("highlights") or ()
            if 0 <= int(s) < int(e) <= len(text)
        )
        result.append(Snippet(str(raw.get("field", "text")), text, spans))
    return result


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _rank(entry: DigestEntry, rules: Mapping[str, Rule]) -> tuple[int, str, str]:
    """(priority, group, rule) of a queued match, the config winning over old evidence."""
    rule = rules.get(entry.rule)
    if rule is not None:
        return rule.priority, rule.group or rule.name, rule.name
    group = entry.evidence.get("group") or entry.rule
    return int(entry.evidence.get("priority") or 0), str(group), entry.rule


def _story(cluster: Sequence[_Article], rules: Mapping[str, Rule], tz: ZoneInfo) -> Story:
    members = sorted(cluster, key=lambda a: (a.time(), a.first.article_id))
    lead = members[0].first
    entries = [e for m in members for e in m.entries]
    ranks = sorted({_rank(e, rules) for e in entries}, key=lambda r: (-r[0], r[2]))
    priority, group, _ = ranks[0]
    snippets: dict[str, Snippet] = {}
    for e in entries:
        for s in _snippets(e.evidence):
            snippets.setdefault(s.text, s)
    sources: dict[str, Source] = {}
    for m in members[1:]:
        e = m.first
        if e.feed != lead.feed:
            published = _aware(e.published).astimezone(tz) if e.published else None
            sources.setdefault(e.feed, Source(e.feed, e.url, e.title, published))
    return Story(
        title=lead.title,
        url=lead.url,
        feed=lead.feed,
        published=_aware(lead.published).astimezone(tz) if lead.published else None,
        seen=_aware(lead.fetched_at).astimezone(tz),
        rules=_unique(rule for _, _, rule in ranks),
        terms=_unique(str(t) for e in entries for t in e.evidence.get("terms") or ()),
        snippets=tuple(snippets.values())[:MAX_SNIPPETS],
        sources=tuple(sources.values()),
        novel_actors=_unique(str(a) for e in entries for a in e.evidence.get("novel_actors") or ()),
        priority=priority,
        group=group,
        article_ids=tuple(m.first.article_id for m in members),
    )


class _Sent:
    """What earlier runs of the digest sent, for recognising a story again."""

    def __init__(self, sent: Sequence[SentItem]) -> None:
        self.ids = {s.article_id for s in sent}
        self.urls = {s.canonical_url for s in sent}
        self.hashes = {s.content_hash for s in sent}
        self.titles = TitleIndex(s.title for s in sent)

    def covers(self, cluster: Sequence[_Article]) -> bool:
        return any(
            a.first.article_id in self.ids
            or a.first.canonical_url in self.urls
            or a.first.content_hash in self.hashes
            or self.titles.contains(a.first.title)
            for a in cluster
        )


def build_digest(
    digest: Digest,
    entries: Sequence[DigestEntry],
    *,
    now: datetime,
    sent: Sequence[SentItem] = (),
    rules: Sequence[Rule] = (),
) -> BuiltDigest:
    """Build ``digest`` from its pending ``entries`` at ``now`` (aware).

    ``sent`` lists the stories of earlier runs of this digest (the lead's choice of look-back,
    e.g. ``Store.digest_sent_since(name, now - 7 days)``); ``rules`` is the current config's
    rules, whose ``group`` and ``priority`` override what the queued evidence recorded.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = ZoneInfo(digest.timezone)
    by_rule = {r.name: r for r in rules}
    grouped: dict[int, list[DigestEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.article_id, []).append(entry)
    articles = sorted(
        (_Article(tuple(es)) for es in grouped.values()),
        key=lambda a: (a.time(), a.first.article_id),
    )
    clusters = [
        [articles[i] for i in c]
        for c in near_duplicate_groups(
            [(a.first.title, a.first.text) for a in articles],
            same=[a.first.content_hash for a in articles],
        )
    ]
    already = _Sent(sent)
    fresh = [c for c in clusters if not already.covers(c)]
    stories = sorted(
        (_story(c, by_rule, tz) for c in fresh),
        # a feed's date in the future (a time zone slip) must not pin a story to the top
        key=lambda s: (-s.priority, -min(s.time, now).timestamp(), s.title),
    )
    listed = stories[: digest.max_stories]
    groups: dict[str, list[Story]] = {}
    for story in listed:
        groups.setdefault(story.group, []).append(story)
    return BuiltDigest(
        name=digest.name,
        title=digest.title or digest.name,
        timezone=digest.timezone,
        created=now.astimezone(tz),
        groups=tuple(StoryGroup(name, tuple(ss)) for name, ss in groups.items()),
        more=len(stories) - len(listed),
        queue_ids=tuple(sorted(e.queue_id for e in entries)),
        already_sent=len(clusters) - len(fresh),
        merged=len(articles) - len(clusters),
        send=bool(listed) or digest.send_empty,
    )
