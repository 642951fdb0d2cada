"""The key index behind ``RuleIndex.candidates``: which rules an article's tokens trigger.

Each rule is filed under its two rarest-looking clauses (``monitor.matching.clauses``): under
every key ``k1`` of the first, beside each key ``k2`` of the second (a one-clause rule beside
``""``, which every article holds). Its other clauses are checked once both are present.

The per-article cost must not grow with the rule count, and once most words of an article
are someone's ``k1`` it is the memory an article touches that counts. So keys and rules are
small ints (one object each, allocated together), and a bounded memo maps each token seen to
one record: the id of a key of the token that some rule checks beyond its first clause (any
other such keys apart), the ``k2`` ids its keys are paired with, and beside each the ids of
the rules filed under the pair. An article takes one look-up per distinct token, one set of
present keys and one disjointness test per token, all in C; then, still in C, the pairs of
the tokens that fire, and Python only for the few rules found.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from itertools import chain, compress, repeat
from operator import itemgetter, not_
from typing import cast

from monitor.matching.clauses import Clause

MEMO_LIMIT = 50_000  # tokens remembered before the memo starts afresh
Ids = tuple[int, ...]
Record = tuple[int, Ids, tuple[Ids, ...], Ids]
"""What a token yields: a checked key's id (0: none), the k2 ids of its keys' pairs, per
k2 the rules filed under the pair, and its other checked keys."""
_KEY, _WANTS, _FILED, _EXTRA = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(3)
_NONE: Ids = ()
_flat = chain.from_iterable


class KeyIndex:
    """Rule ids filed under pairs of index keys; ``triggered(tokens)`` finds them."""

    def __init__(self, filed: Sequence[Sequence[Clause]]) -> None:
        """``filed[rid]``: rule ``rid``'s clauses (at least one), the two to index first."""
        ids: dict[str, int] = {"": 0}  # every key's id; "" is in every article
        pairs: dict[int, dict[int, list[int]]] = {}  # k1 → k2 → rules
        self._needs: list[Ids] = []  # per rule: its one-key clauses beyond the indexed two
        self._alternatives: dict[int, tuple[Ids, ...]] = {}  # its clauses of several keys
        checked: set[int] = set()
        for rid, found in enumerate(filed):
            if not found:
                raise ValueError(f"rule {rid} has no clause: it would match every article")
            coded = [tuple(ids.setdefault(k, len(ids)) for k in clause) for clause in found]
            checked.update(*coded[1:])
            self._needs.append(tuple(c[0] for c in coded[2:] if len(c) == 1))
            if any(len(c) > 1 for c in coded[2:]):
                self._alternatives[rid] = tuple(c for c in coded[2:] if len(c) > 1)
            for k1 in coded[0]:
                by_k2 = pairs.setdefault(k1, {})
                for k2 in coded[1] if len(coded) > 1 else (0,):
                    by_k2.setdefault(k2, []).append(rid)
        self._ids = ids
        self._exact = frozenset(k for k in ids if k and k[0] != "*")
        self._stems = frozenset(k[1:] for k in ids if k[:1] == "*")
        self._stem_lengths = tuple(sorted({len(s) for s in self._stems}))
        self._records: list[Record | tuple[()]] = [()] * len(ids)  # per key id
        for i in checked | pairs.keys():
            by_k2 = pairs.get(i, {})
            key = i if i in checked else 0
            self._records[i] = (key, tuple(by_k2), tuple(map(tuple, by_k2.values())), _NONE)
        self._memo: dict[str, Record | tuple[()]] = {}  # the tokens seen: what they yield
        self._compact()

    def _compact(self) -> None:
        """Every id one int object, and the records' parts each built in one go, so that an
        article touches a few compact regions rather than objects all over the heap."""
        one = list(range(max(len(self._ids), len(self._needs)))).__getitem__

        def ids_of(found: Ids) -> Ids:
            return tuple(map(one, found)) if found else _NONE

        self._ids = {k: one(i) for k, i in self._ids.items()}
        records = [r or None for r in self._records]
        wants = [ids_of(r[1]) if r else _NONE for r in records]  # read for every token
        filed = [tuple(map(ids_of, r[2])) if r else () for r in records]  # only when fired
        self._records = [
            (one(r[0]), w, f, _NONE) if r else ()
            for r, w, f in zip(records, wants, filed, strict=True)
        ]
        self._needs = list(map(ids_of, self._needs))
        self._alternatives = {
            one(rid): tuple(map(ids_of, cs)) for rid, cs in self._alternatives.items()
        }

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the memo, which the new owner fills with its own tokens."""
        return {**self.__dict__, "_memo": {}}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._compact()  # unpickled ints are one object per occurrence

    def _yields(self, token: str) -> Record | tuple[()]:
        keys = [token] if token in self._exact else []
        keys += ["*" + token[:n] for n in self._stem_lengths if token[:n] in self._stems]
        found: list[Record] = [
            r for r in map(self._records.__getitem__, map(self._ids.__getitem__, keys)) if r
        ]
        self._memo[token] = record = _merged(found)
        return record

    def triggered(self, tokens: Set[str]) -> list[int]:
        """Ids (ascending) of the rules whose every clause has a key among ``tokens``."""
        memo = self._memo
        if len(memo) > MEMO_LIMIT:
            memo.clear()
        maybe = list(map(memo.get, tokens))
        if None in maybe:
            yields = self._yields
            maybe = [yields(t) if g is None else g for t, g in zip(tokens, maybe, strict=True)]
        got = cast(list[Record], list(filter(None, maybe)))  # the tokens that yield keys
        present = set(map(_KEY, got))  # the checked keys present, and 0 (for "")
        present.add(0)
        present.update(*filter(None, map(_EXTRA, got)))
        # A prefix key may come from several tokens: its pairs then fire more than once.
        fired = list(compress(got, map(not_, map(present.isdisjoint, map(_WANTS, got)))))
        hits = map(map, repeat(present.__contains__), map(_WANTS, fired))
        found = sorted(set(_flat(_flat(map(compress, map(_FILED, fired), hits)))))
        found = list(compress(found, map(present.issuperset, map(self._needs.__getitem__, found))))
        alternatives = self._alternatives
        if not alternatives:
            return found
        return [
            rid
            for rid in found
            if rid not in alternatives or all(not present.isdisjoint(c) for c in alternatives[rid])
        ]


def _merged(found: list[Record]) -> Record | tuple[()]:
    """The records of a token's keys as one (one as itself)."""
    if len(found) < 2:
        return found[0] if found else ()
    keys = [r[0] for r in found if r[0]]
    return (
        keys[0] if keys else 0,
        tuple(_flat(map(_WANTS, found))),
        tuple(_flat(map(_FILED, found))),
        tuple(keys[1:]),
    )
