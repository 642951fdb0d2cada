"""Rules for the matching benchmark: generated from a corpus, and the naive regex baseline.

``generate_rules`` draws each rule from one random article so it matches at least that
article: 2–4 terms in a band of document frequency (words, two-word phrases, prefixes,
``(a OR b)`` groups), sometimes a ``NEAR/n`` between two of them (n at least their distance
in that article), a ``title:`` term or a ``NOT`` of a word the article lacks.

``NaiveRule`` is what simple filters do: each term a case-insensitive regular expression
searched in the raw text of every article, AND/OR/NOT evaluated in Python, NEAR as a regex
allowing up to n words in between.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from monitor.config.schema import Rule
from monitor.matching.nodes import And, Entity, Near, Node, Not, Or, Term
from monitor.matching.query import parse_query
from monitor.matching.text import terms_of
from monitor.model import Document

# A mix is a band of document frequency for the terms and where the rules come from.
# "specific": rules about things (people, firms, places), each drawn from a record anywhere
# in the corpora (100,000 records), so few rules match any one article, as in a real
# monitoring service. "broad": everyday words, each rule drawn from one of the measured
# articles themselves, so every article matches many rules (a stress case).
MIXES = {"specific": (0.0005, 0.01, "corpus"), "broad": (0.002, 0.05, "measured")}
_SKIP = frozenset(
    [
        "the",
        "and",
        "for",
        "that",
        "with",
        "this",
        "from",
        "have",
        "has",
        "was",
        "were",
        "are",
        "said",
        "says",
        "not",
        "but",
    ]
)


@dataclass
class Vocabulary:
    """Document frequencies over a corpus, its documents as token lists (title, text), and
    the tokens usable as rule terms."""

    docs: list[tuple[list[str], list[str]]]
    df: dict[str, int]
    middling: list[str]

    @classmethod
    def of(cls, docs: Iterable[Document], low: float, high: float) -> Vocabulary:
        """Terms are tokens in at least ``low`` and at most ``high`` of the documents."""
        df: dict[str, int] = {}
        kept = []
        for d in docs:
            title = [sys.intern(t) for t in terms_of(d.title)]
            text = [sys.intern(t) for t in terms_of(d.text)]
            kept.append((title, text))
            for tok in set(title) | set(text):
                df[tok] = df.get(tok, 0) + 1
        n = len(kept)
        middling = sorted(t for t, c in df.items() if low * n <= c <= high * n and _usable(t))
        return cls(kept, df, middling)


def _usable(tok: str) -> bool:
    return len(tok) >= 3 and tok.isalpha() and tok not in _SKIP


def _one_rule(rng: random.Random, vocab: Vocabulary, middling: set[str]) -> str | None:
    title_toks, toks = rng.choice(vocab.docs)
    spots = [i for i, t in enumerate(toks) if t in middling]
    if len(spots) < 2:
        return None
    picks = sorted(rng.sample(spots, rng.randint(2, min(4, len(spots)))))
    terms: list[str] = []
    for i in picks:
        roll = rng.random()
        word = toks[i]
        if roll < 0.15 and i + 1 < len(toks) and _usable(toks[i + 1]):
            terms.append(f'"{word} {toks[i + 1]}"')
        elif roll < 0.25 and len(word) >= 6:
            terms.append(word[: rng.randint(4, len(word) - 1)] + "*")
        elif roll < 0.33:
            terms.append(f"({word} OR {rng.choice(vocab.middling)})")
        else:
            terms.append(word)
    if len(terms) >= 2 and rng.random() < 0.2:
        gap = picks[1] - picks[0]
        terms[:2] = [f"{terms[0]} NEAR/{gap + rng.randint(0, 5)} {terms[1]}"]
    title = [t for t in title_toks if t in middling]
    if title and rng.random() < 0.1:
        terms.append(f"title:{rng.choice(title)}")
    if rng.random() < 0.15:
        absent = rng.choice(vocab.middling)
        if absent not in toks and absent not in title_toks:
            terms.append(f"-{absent}")
    return " ".join(terms)


def generate_rules(vocab: Vocabulary, count: int, seed: int = 7) -> list[Rule]:
    """``count`` rules of realistic shape drawn from ``vocab`` (deterministic per seed)."""
    rng = random.Random(seed)
    middling = set(vocab.middling)
    rules: list[Rule] = []
    while len(rules) < count:
        query = _one_rule(rng, vocab, middling)
        if query is not None:
            rules.append(Rule(name=f"r{len(rules)}", query=query))
    return rules


Check = Callable[[str, str], bool]  # title, text → holds


def _pattern(term: Term | Entity) -> str:
    if isinstance(term, Entity):
        return "(?:" + "|".join(_pattern(alias) for alias in term.aliases) + ")"
    body = r"\W+".join(re.escape(p) for p in term.parts)
    return r"\b" + body + (r"\w*" if term.prefix else r"\b")


def _near_pattern(node: Node) -> str:
    if isinstance(node, Term | Entity):
        return _pattern(node)
    if isinstance(node, Or):
        return "(?:" + "|".join(_near_pattern(c) for c in node.children) + ")"
    raise TypeError(node)


def _compile(node: Node) -> Check:
    if isinstance(node, Term | Entity):
        rx = re.compile(_pattern(node), re.IGNORECASE)
        if node.field == "title":
            return lambda title, text: rx.search(title) is not None
        if node.field == "text":
            return lambda title, text: rx.search(text) is not None
        return lambda title, text: rx.search(title) is not None or rx.search(text) is not None
    if isinstance(node, Near):
        a, b, n = _near_pattern(node.left), _near_pattern(node.right), node.distance
        between = rf"(?:\W+\w+){{0,{n}}}\W+"
        rx = re.compile(f"{a}{between}{b}|{b}{between}{a}", re.IGNORECASE)
        return lambda title, text: rx.search(title) is not None or rx.search(text) is not None
    if isinstance(node, Not):
        inner = _compile(node.child)
        return lambda title, text: not inner(title, text)
    checks = [_compile(c) for c in node.children]
    if isinstance(node, And):
        return lambda title, text: all(c(title, text) for c in checks)
    return lambda title, text: any(c(title, text) for c in checks)


@dataclass
class NaiveRule:
    name: str
    check: Check

    @classmethod
    def of(cls, rule: Rule) -> NaiveRule:
        return cls(rule.name, _compile(parse_query(rule.query, {}).root))


def naive_match(rules: Sequence[NaiveRule], doc: Document) -> list[str]:
    """Names of the rules whose regular expressions hold in the raw text."""
    return [r.name for r in rules if r.check(doc.title, doc.text)]
