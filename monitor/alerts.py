"""From an article to what the store records about it: matches, digest queue items, novelty.

The matcher is compiled once per config. Every match is queued for each digest its rule
notifies (scheduled and immediate alike); digest runs turn queued items into outbox rows, so
nothing matched is lost between the article's transaction and delivery.

Novelty rules are settled against the stored history plus the sightings this process has
already decided, so two articles of the same poll saying the same thing alert once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from monitor.config.schema import Config
from monitor.matching import RuleIndex
from monitor.model import Article, Document, Match
from monitor.store import DigestItemRecord, MatchRecord, NoveltyRecord

LastSeen = Callable[[str, Iterable[str]], dict[str, datetime]]
"""``(rule, actors) → {actor: last seen}``, e.g. ``Store.novelty_last_seen``."""


@dataclass(frozen=True)
class Alerts:
    """What one article produced, ready for ``Store.save_article``."""

    found: tuple[Match, ...] = ()
    digest_items: tuple[DigestItemRecord, ...] = ()
    novelty: tuple[NoveltyRecord, ...] = ()

    @property
    def matches(self) -> tuple[MatchRecord, ...]:
        return tuple(MatchRecord(m.rule, m.to_json()) for m in self.found)


@dataclass
class Matcher:
    """The compiled rules of one config and the novelty history they read."""

    index: RuleIndex
    last_seen: LastSeen
    _decided: dict[tuple[str, str], datetime] = field(default_factory=dict)

    @classmethod
    def build(cls, config: Config, last_seen: LastSeen) -> Matcher:
        return cls(RuleIndex.from_config(config), last_seen)

    @cached_property
    def alerts_at_once(self) -> bool:
        """Whether any rule notifies an immediate digest."""
        return any(c.immediate for c in self.index.compiled)

    def urgent(self, doc: Document) -> bool:
        """Whether ``doc`` (a feed entry's own title and summary, before its page is
        fetched) already matches a rule that alerts at once: its page then goes first."""
        return self.alerts_at_once and any(
            m.immediate for m in self.index.match(doc, snippets=False)
        )

    def match(self, article: Article, *, now: datetime) -> Alerts:
        found = self.index.match(Document.from_article(article))
        if not found:
            return Alerts()
        history: dict[tuple[str, str], datetime] = {}
        for m in found:
            if m.actors:
                stored = self.last_seen(m.rule, m.actors)
                for actor in m.actors:
                    when = self._decided.get((m.rule, actor)) or stored.get(actor)
                    if when is not None:
                        history[(m.rule, actor)] = when
        decision = self.index.decide_novelty(found, history, now)
        for s in decision.sightings:
            self._decided[(s.rule, s.actor)] = s.seen_at
        items = tuple(DigestItemRecord(d, m.rule) for m in decision.matches for d in m.notify)
        novelty = tuple(NoveltyRecord(s.rule, s.actor, s.seen_at) for s in decision.sightings)
        return Alerts(decision.matches, items, novelty)
