"""Necessary keys: what any article a query matches must contain, for the index.

``clauses(node)`` returns clauses, each a tuple of index keys at least one of which occurs in
every article the node matches. Keys are tokens, or ``*stem`` for a prefix (a token never
holds ``*``). A term needs each of its tokens; an entity one key of each alias; AND and NEAR
need the clauses of all their sides; OR needs one key of each branch (merged into one clause);
NOT needs nothing. ``Rarity`` guesses how common a clause is, so the index can file each
rule under its rarest-looking clauses.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence

from monitor.matching.nodes import And, Entity, Near, Node, Or, Term

Clause = tuple[str, ...]

# fmt: off
_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "had",
    "has", "have", "he", "her", "his", "i", "in", "is", "it", "its", "not", "of", "on", "or",
    "said", "says", "she", "that", "the", "their", "they", "this", "to", "was", "we", "were",
    "which", "who", "will", "with",
))
# fmt: on


class Rarity:
    """Guesses how common a key is in articles (lower is rarer).

    With ``frequencies`` (token → share of articles holding it, e.g. counted by the store over
    recent articles) a token weighs its share, an unseen token almost nothing, and a prefix
    the share of its most common token. Without, longer words count as rarer, stop words and
    short prefixes as common.
    """

    def __init__(self, frequencies: Mapping[str, float] | None = None) -> None:
        self.frequencies = frequencies
        self._sorted = sorted(frequencies) if frequencies else []

    def key(self, key: str) -> float:
        freq = self.frequencies
        if freq is None:
            if key.startswith("*"):
                return 30.0 / len(key)
            return 100.0 if key in _STOPWORDS else 10.0 / len(key)
        if not key.startswith("*"):
            return freq.get(key, _UNSEEN)
        stem = key[1:]
        lo = bisect_left(self._sorted, stem)
        hi = bisect_left(self._sorted, stem + chr(0x10FFFF), lo)
        return max((freq[t] for t in self._sorted[lo:hi]), default=_UNSEEN)

    def clause(self, clause: Clause) -> float:
        return sum(map(self.key, clause))

    def best(self, found: Sequence[Clause]) -> Clause:
        return min(found, key=lambda c: (self.clause(c), c))


_UNSEEN = 1e-6
GUESS = Rarity()


def _term_clauses(term: Term) -> list[Clause]:
    keys = list(term.parts)
    if term.prefix:
        keys[-1] = "*" + keys[-1]
    return [(k,) for k in dict.fromkeys(keys)]


def clauses(node: Node, rarity: Rarity = GUESS) -> list[Clause]:
    """Key sets of which an article matching ``node`` holds at least one key each."""
    if isinstance(node, Term):
        return _term_clauses(node)
    if isinstance(node, Entity):
        return [tuple(sorted({k for a in node.aliases for k in rarity.best(_term_clauses(a))}))]
    if isinstance(node, And):
        return [c for child in node.children for c in clauses(child, rarity)]
    if isinstance(node, Near):
        return clauses(node.left, rarity) + clauses(node.right, rarity)
    if isinstance(node, Or):
        found = [clauses(child, rarity) for child in node.children]
        if not all(found):
            return []
        return [tuple(sorted({k for got in found for k in rarity.best(got)}))]
    return []
