"""The compiled matcher: every rule of a config in one index, built once per config.

Each rule's query yields *clauses*, sets of index keys at least one of which must be in any
article the rule matches (a phrase needs all its tokens; an OR needs one key of each branch; a
NOT needs nothing). Keys are tokens, or ``*stem`` for prefixes. The two clauses that look
rarest go into the key index (``monitor.matching.triggers``): matching an article takes one
pass over its distinct tokens to find the present keys and the rules whose two indexed clauses
are both present, drops those with another clause absent, and evaluates the rest with
``Evaluator`` (the same code the tests use as the reference). The cost grows with the
candidates, not with the rule count. The clauses themselves are worked out in
``monitor.matching.clauses``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

from monitor.config.schema import Config, Rule
from monitor.errors import ConfigError, ConfigIssue
from monitor.matching.clauses import Clause, Rarity, clauses
from monitor.matching.evaluate import Evaluator, Hit
from monitor.matching.nodes import Entity, Leaf, Query
from monitor.matching.novelty import NoveltyDecision, Tracker, decide
from monitor.matching.query import QueryError, parse_query
from monitor.matching.snippets import snippets_of
from monitor.matching.text import Analysis
from monitor.matching.triggers import KeyIndex
from monitor.model import Document, Match, Snippet
from monitor.model import Hit as HitRecord

MAX_HITS_PER_TERM = 25
_TERM = itemgetter(1)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to run: its query, the clauses beyond its trigger, and its options."""

    rule: Rule
    query: Query
    clauses: tuple[Clause, ...]  # rarest-looking first; the first two are in the index
    sources: frozenset[str]
    languages: frozenset[str]
    immediate: bool
    tracker: Tracker | None
    order: Mapping[Leaf, tuple[int, str]]  # leaf → (position in the query, spelling)

    def accepts(self, doc: Document) -> bool:
        """The rule's ``sources`` and ``languages`` filters."""
        if (
            self.sources
            and doc.feed not in self.sources
            and not any(tag in self.sources for tag in doc.tags)
        ):
            return False
        if self.languages:
            if doc.language is None:
                return False
            lang = doc.language.lower().replace("_", "-")
            return lang in self.languages or lang.split("-")[0] in self.languages
        return True


def _leaf_order(query: Query, tracker: Tracker | None) -> dict[Leaf, tuple[int, str]]:
    order: dict[Leaf, tuple[int, str]] = {}
    for leaf in query.leaves + (tracker.actors if tracker else ()):
        order.setdefault(leaf, (len(order), leaf.source))
    return order


class RuleIndex:
    """All enabled rules of a config, compiled for matching articles in one pass."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.compiled = rules
        self._keys = KeyIndex([c.clauses for c in rules])

    @classmethod
    def compile(
        cls,
        rules: Sequence[Rule],
        entities: Mapping[str, Sequence[str]],
        *,
        immediate_digests: Collection[str] = (),
        frequencies: Mapping[str, float] | None = None,
    ) -> RuleIndex:
        """Compile the enabled ``rules``; raises ``ConfigError`` listing every bad rule.

        ``frequencies`` (token → share of recent articles holding it) lets the index file each
        rule under its truly rarest terms; without, word length stands in for rarity.
        """
        rarity = Rarity(frequencies)
        compiled: list[CompiledRule] = []
        issues: list[ConfigIssue] = []
        immediate = frozenset(immediate_digests)
        for i, rule in enumerate(rules):
            if not rule.enabled:
                continue
            try:
                query = parse_query(rule.query, entities)
                tracker = Tracker.of(rule.novelty, entities) if rule.novelty else None
            except QueryError as exc:
                path = f"rules[{i}].query" if exc.column else f"rules[{i}].novelty"
                issues.append(ConfigIssue("<rules>", 0, exc.column, path, exc.message))
                continue
            found = sorted(set(clauses(query.root, rarity)), key=lambda c: (rarity.clause(c), c))
            compiled.append(
                CompiledRule(
                    rule=rule,
                    query=query,
                    clauses=tuple(found),
                    sources=frozenset(rule.sources),
                    languages=frozenset(lang.lower().replace("_", "-") for lang in rule.languages),
                    immediate=bool(immediate.intersection(rule.notify)),
                    tracker=tracker,
                    order=_leaf_order(query, tracker),
                )
            )
        if issues:
            raise ConfigError(issues)
        return cls(compiled)

    @classmethod
    def from_config(cls, config: Config) -> RuleIndex:
        """Compile the rules of ``config`` with its entities and immediate digests."""
        immediate = [d.name for d in config.digests if d.immediate]
        return cls.compile(config.rules, config.entities, immediate_digests=immediate)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(c.rule for c in self.compiled)

    def candidates(self, doc: Document, analysis: Analysis | None = None) -> list[CompiledRule]:
        """The rules worth evaluating on ``doc``: triggered, every clause present, filters ok."""
        analysis = analysis or Analysis.of(doc.title, doc.text)
        ids = self._keys.triggered(analysis.vocabulary())
        compiled = self.compiled
        return [rule for rule in map(compiled.__getitem__, ids) if rule.accepts(doc)]

    def match(self, doc: Document, *, snippets: bool = True) -> list[Match]:
        """Every rule that matches ``doc``, in config order, with its evidence (without the
        snippets if ``snippets`` is false, as a backtest that only counts needs)."""
        analysis = Analysis.of(doc.title, doc.text)
        evaluator = Evaluator(analysis)
        matches = []
        for rule in self.candidates(doc, analysis):
            hits = evaluator.evidence(rule.query.root)
            if hits is None:
                continue
            actors: list[str] = []
            if rule.tracker is not None:
                near = rule.tracker.actors_near(evaluator, hits)
                if not near:
                    continue
                names = (leaf.name for leaf, *_ in near if isinstance(leaf, Entity))
                actors = list(dict.fromkeys(names))
                hits = hits + near
            matches.append(build_match(rule, hits, analysis, tuple(actors), snippets=snippets))
        return matches

    def decide_novelty(
        self, matches: Sequence[Match], history: Mapping[tuple[str, str], datetime], now: datetime
    ) -> NoveltyDecision:
        """``novelty.decide`` with this index's periods (``unseen_for`` per novelty rule)."""
        periods: dict[str, timedelta] = {
            c.rule.name: c.tracker.unseen_for for c in self.compiled if c.tracker is not None
        }
        return decide(matches, history, now, periods)


def build_match(
    rule: CompiledRule,
    hits: Sequence[Hit],
    analysis: Analysis,
    actors: tuple[str, ...] = (),
    *,
    snippets: bool = True,
) -> Match:
    """The ``Match`` of ``rule`` from the evaluator's hits: terms, positions, snippets."""
    order = rule.order
    rows = sorted({(*order[leaf], f != "title", s, e, f) for leaf, f, s, e in hits})
    terms = tuple(dict.fromkeys(map(_TERM, rows)))
    if len(rows) <= MAX_HITS_PER_TERM:  # no term can be over the cap
        kept = [HitRecord(term, f, s, e) for _, term, _, s, e, f in rows]
    else:
        counts = dict.fromkeys(terms, 0)
        kept = []
        for _, term, _, s, e, f in rows:
            counts[term] += 1
            if counts[term] <= MAX_HITS_PER_TERM:
                kept.append(HitRecord(term, f, s, e))
    found: tuple[Snippet, ...] = ()
    if snippets and rows:
        body = sorted({(s, e, term) for _, term, in_text, s, e, _ in rows if in_text})
        title = sorted({(s, e, term) for _, term, in_text, s, e, _ in rows if not in_text})
        found = snippets_of(analysis, body, title)
    options = rule.rule
    return Match(
        rule=options.name,
        terms=terms,
        hits=tuple(kept),
        snippets=found,
        notify=options.notify,
        priority=options.priority,
        group=options.group,
        immediate=rule.immediate,
        actors=actors,
    )
