"""The straightforward evaluator: one query tree against one analysed document.

``Evaluator(analysis).evidence(node)`` returns None when the node does not hold, else the
hits that make it hold: ``(leaf, field, start, end)`` with token positions, ``end`` exclusive.
A NOT contributes no hits; an OR contributes the hits of every branch that holds; a NEAR only
the occurrences that pair up. The compiled index runs this same code on its candidates, and
the property tests run it on every rule as the reference.

NEAR semantics: two occurrences in the same field that do not overlap, with at most
``distance`` tokens between them, in either order (``NEAR/0``: adjacent).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import repeat

from monitor.matching.nodes import And, Entity, Leaf, Near, Node, Not, Or, Query, Term
from monitor.matching.text import FIELDS, Analysis

Hit = tuple[Leaf, str, int, int]  # leaf, field, start token, end token (exclusive)
Span = tuple[str, int, int, tuple[Hit, ...]]  # an occurrence and the hits it is made of
MAX_NEAR_SPANS = 2000  # keeps pathological nested NEARs bounded
_LEAVES = (Term, Entity)
_NEXT = (1).__add__
_LAST = chr(0x10FFFF)  # sorts after every character: stem + _LAST bounds the stem's tokens


class Evaluator:
    """Evaluates any number of queries against one document, sharing term look-ups."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self._occ: dict[Term, list[tuple[str, int, int]]] = {}
        self._hits: dict[Leaf, list[Hit] | None] = {}
        self._positions: dict[str, dict[str, list[int]]] = {}

    def occurrences(self, term: Term) -> list[tuple[str, int, int]]:
        """Where ``term`` occurs: ``(field, start, end)``, title first, then by position."""
        found = self._occ.get(term)
        if found is None:
            found = []
            size = len(term.parts)
            for name in FIELDS if term.field is None else (term.field,):
                starts = self._starts(term, name)
                if starts:
                    found.extend(zip(repeat(name), starts, map(size.__add__, starts)))
            self._occ[term] = found
        return found

    def _field_positions(self, name: str) -> dict[str, list[int]]:
        positions = self._positions.get(name)
        if positions is None:
            positions = self._positions[name] = self.analysis.field(name).positions()
        return positions

    def _starts(self, term: Term, name: str) -> list[int]:
        positions = self._field_positions(name)
        ft = self.analysis.field(name)
        parts = term.parts
        if len(parts) == 1:
            if not term.prefix:
                return positions.get(parts[0], [])
            vocab = ft.sorted_vocabulary()
            lo = bisect_left(vocab, parts[0])
            hi = bisect_left(vocab, parts[0] + _LAST, lo)
            if hi - lo == 1:
                return positions[vocab[lo]]
            return sorted(i for tok in vocab[lo:hi] for i in positions[tok])
        tokens = ft.tokens
        last = len(parts) - 1
        starts = []
        for s in positions.get(parts[0], ()):
            if s + last >= len(tokens):
                break
            for k in range(1, last + 1):
                tok = tokens[s + k]
                if tok != parts[k] and not (k == last and term.prefix and tok.startswith(parts[k])):
                    break
            else:
                starts.append(s)
        return starts

    def _where(self, leaf: Leaf) -> list[tuple[str, int, int]]:
        if isinstance(leaf, Term):
            return self.occurrences(leaf)
        seen: set[tuple[str, int, int]] = set()
        for alias in leaf.aliases:
            seen.update(self.occurrences(alias))
        return sorted(seen, key=_field_order)

    def leaf_spans(self, leaf: Leaf) -> list[Span]:
        """Occurrences of a term or an entity (any of its aliases), as spans."""
        return [(f, s, e, ((leaf, f, s, e),)) for f, s, e in self._where(leaf)]

    def evidence(self, node: Node) -> list[Hit] | None:
        """None if ``node`` does not hold, else the hits that make it hold (the list a leaf
        gives is shared: not to be changed)."""
        if isinstance(node, _LEAVES):
            try:
                return self._hits[node]
            except KeyError:
                return self._leaf(node)
        if isinstance(node, And):
            hits: list[Hit] = []
            for child in node.children:
                got = self.evidence(child)
                if got is None:
                    return None
                hits += got
            return hits
        if isinstance(node, Or):
            found: list[Hit] | None = None
            for child in node.children:
                got = self.evidence(child)
                if got is not None:
                    found = list(got) if found is None else found + got
            return found
        if isinstance(node, Not):
            return [] if self.evidence(node.child) is None else None
        return [hit for span in self.near_spans(node) for hit in span[3]] or None

    def _leaf(self, leaf: Leaf) -> list[Hit] | None:
        if isinstance(leaf, Term) and len(leaf.parts) == 1 and not leaf.prefix:  # most leaves
            hits: list[Hit] = []
            for name in FIELDS if leaf.field is None else (leaf.field,):
                starts = self._field_positions(name).get(leaf.parts[0])
                if starts:
                    hits += zip(repeat(leaf), repeat(name), starts, map(_NEXT, starts))
        else:
            hits = [(leaf, f, s, e) for f, s, e in self._where(leaf)]
        found = self._hits[leaf] = hits or None
        return found

    def near_spans(self, node: Node) -> list[Span]:
        """Occurrences of a NEAR operand: a leaf, an OR of operands, or a NEAR."""
        if isinstance(node, _LEAVES):
            return self.leaf_spans(node)
        if isinstance(node, Or):
            return [span for child in node.children for span in self.near_spans(child)]
        if not isinstance(node, Near):  # the parser rejects AND/NOT under NEAR
            raise TypeError(f"not a NEAR operand: {node!r}")
        left = self.near_spans(node.left)
        if not left:
            return []
        right = sorted(self.near_spans(node.right), key=lambda sp: (sp[0], sp[1]))
        return _pairs(left, right, node.distance)


def _field_order(occ: tuple[str, int, int]) -> tuple[int, int, int]:
    return (FIELDS.index(occ[0]), occ[1], occ[2])


def _pairs(left: list[Span], right: list[Span], distance: int) -> list[Span]:
    """Every (left, right) pair in one field, not overlapping, ``distance`` tokens apart."""
    if not right:
        return []
    keys = [(sp[0], sp[1]) for sp in right]
    longest = max(sp[2] - sp[1] for sp in right)
    out: list[Span] = []
    for f, s, e, hits in left:
        lo = bisect_left(keys, (f, s - distance - longest))
        hi = bisect_right(keys, (f, e + distance))
        for rf, rs, re_, rhits in right[lo:hi]:
            gap = rs - e if rs >= e else s - re_
            if rf == f and 0 <= gap <= distance:
                out.append((f, min(s, rs), max(e, re_), hits + rhits))
                if len(out) >= MAX_NEAR_SPANS:
                    return out
    return out


def evaluate(query: Query, analysis: Analysis) -> list[Hit] | None:
    """Evaluate one query on its own (the reference the compiled index must agree with)."""
    return Evaluator(analysis).evidence(query.root)
