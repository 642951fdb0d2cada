"""Necessary keys: what any article a query matches must contain, for the index.

``clauses(node)`` returns clauses, each a tuple of index keys at least one of which occurs in
every article the node matches. Keys are tokens, or ``*stem`` for a prefix (a token never
holds ``*``). A term needs each of its tokens; an entity one key of each alias; AND and NEAR
need the clauses of all their sides; OR needs one key of each branch (merged into one clause);
NOT needs nothing. ``weight`` guesses how common a clause is, from word length and a few
stop words, so the index can file each rule under its rarest-looking clauses.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def _key_weight(key: str) -> float:
    if key.startswith("*"):
        return 30.0 / len(key)
    return 100.0 if key in _STOPWORDS else 10.0 / len(key)


def weight(clause: Clause) -> float:
    """How common articles holding one of the clause's keys look (lower is rarer)."""
    return sum(map(_key_weight, clause))


def _best(clauses: Sequence[Clause]) -> Clause:
    return min(clauses, key=lambda c: (weight(c), c))


def _term_clauses(term: Term) -> list[Clause]:
    keys = list(term.parts)
    if term.prefix:
        keys[-1] = "*" + keys[-1]
    return [(k,) for k in dict.fromkeys(keys)]


def clauses(node: Node) -> list[Clause]:
    """Key sets of which an article matching ``node`` holds at least one key each."""
    if isinstance(node, Term):
        return _term_clauses(node)
    if isinstance(node, Entity):
        return [tuple(sorted({k for a in node.aliases for k in _best(_term_clauses(a))}))]
    if isinstance(node, And):
        return [c for child in node.children for c in clauses(child)]
    if isinstance(node, Near):
        return clauses(node.left) + clauses(node.right)
    if isinstance(node, Or):
        found = [clauses(child) for child in node.children]
        if not all(found):
            return []
        return [tuple(sorted({k for got in found for k in _best(got)}))]
    return []
