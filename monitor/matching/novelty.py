"""Novelty rules ("new alignments"): a tracked actor near the anchor, unseen for a period.

A rule with a ``novelty`` block matches in two pure steps, so the history can live in the
store and survive restarts:

1. ``RuleIndex.match(doc)`` evaluates the rule's query (the anchor) and, if it holds, looks
   for the tracked entities within ``within`` tokens of the anchor's occurrences (same field,
   not overlapping). The ``Match`` lists them in ``actors``; ``novel_actors`` is still empty.
2. ``decide(matches, history, now, periods)`` (or ``RuleIndex.decide_novelty``) compares each
   actor with ``history[(rule, actor)]`` (when it was last seen with that anchor): an actor
   never seen, or not seen for ``unseen_for``, is novel. A novelty match survives only if it
   has a novel actor. Every actor seen becomes a ``Sighting`` for the store to record, novel
   or not, so an actor mentioned every month never counts as new again.

The pipeline: ``matches = index.match(doc)``; fetch ``history`` for ``novelty_keys(matches)``;
``decision = index.decide_novelty(matches, history, now)``; store ``decision.matches`` and
``decision.sightings`` in the article's transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.schema import Novelty
from monitor.matching.evaluate import Evaluator, Hit, _pairs
from monitor.matching.nodes import Entity
from monitor.matching.query import QueryError, resolve_entity
from monitor.model import Match


@dataclass(frozen=True, slots=True)
class Tracker:
    """The compiled ``novelty`` block of one rule."""

    actors: tuple[Entity, ...]
    within: int
    unseen_for: timedelta

    @classmethod
    def of(cls, novelty: Novelty, entities: Mapping[str, Sequence[str]]) -> Tracker:
        """Resolve the tracked entity names; raises ``QueryError`` (column 0) if unknown."""
        actors = []
        for name in novelty.track:
            if name not in entities:
                raise QueryError(f"novelty.track names an unknown entity: {name}", 0)
            actors.append(resolve_entity(name, entities[name]))
        return cls(tuple(actors), novelty.within, novelty.unseen_for)

    def actors_near(self, evaluator: Evaluator, anchor: Sequence[Hit]) -> list[Hit]:
        """Occurrences of tracked actors within the window of an anchor occurrence."""
        spans = sorted({(f, s, e, ()) for _, f, s, e in anchor}, key=lambda sp: (sp[0], sp[1]))
        found: list[Hit] = []
        for actor in self.actors:
            pairs = _pairs(evaluator.leaf_spans(actor), list(spans), self.within)
            found.extend(hit for span in pairs for hit in span[3] if hit[0] is actor)
        return found


@dataclass(frozen=True, slots=True)
class Sighting:
    """``actor`` was seen near ``rule``'s anchor at ``seen_at`` (for the store's history)."""

    rule: str
    actor: str
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class NoveltyDecision:
    """The matches to keep (novelty ones only with a novel actor) and what to record."""

    matches: tuple[Match, ...]
    sightings: tuple[Sighting, ...]


def novelty_keys(matches: Iterable[Match]) -> list[tuple[str, str]]:
    """The ``(rule, actor)`` pairs whose last sighting ``decide`` needs."""
    return [(m.rule, actor) for m in matches for actor in m.actors]


def decide(
    matches: Iterable[Match],
    history: Mapping[tuple[str, str], datetime],
    now: datetime,
    periods: Mapping[str, timedelta],
) -> NoveltyDecision:
    """Keep the novelty matches with a novel actor; ``periods`` is rule → ``unseen_for``.

    Matches of rules not in ``periods`` pass through untouched.
    """
    kept: list[Match] = []
    sightings: list[Sighting] = []
    for match in matches:
        period = periods.get(match.rule)
        if period is None:
            kept.append(match)
            continue
        novel = []
        for actor in match.actors:
            last = history.get((match.rule, actor))
            if last is None or now - last >= period:
                novel.append(actor)
            sightings.append(Sighting(match.rule, actor, now))
        if novel:
            kept.append(dataclasses.replace(match, novel_actors=tuple(novel)))
    return NoveltyDecision(tuple(kept), tuple(sightings))
