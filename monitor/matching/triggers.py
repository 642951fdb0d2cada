"""The key index behind ``RuleIndex.candidates``: which rules an article's tokens trigger.

Each rule is filed under its two rarest-looking clauses (``monitor.matching.clauses``): for
every key ``k1`` of the first, a trigger holds the keys ``k2`` of the rules' second
clauses and, per ``k2``, the rules filed under the pair (a one-clause rule is filed under
``(k1, "")``, and ``""`` is present in every article). The rest of a rule's clauses are
checked once both indexed ones are present: the one-key ones in C, kept beside each rule id
in the posting lists, the others (ORs) in Python.

The per-article cost must not grow with the rule count, and once most words of an article
are someone's ``k1`` it is the number of look-ups that counts. So a bounded memo maps each
token seen to what it yields: its index keys (the token itself if it is one, ``*stem`` for
each indexed prefix of it) that some rule checks beyond its first clause, and the triggers
its keys open merged into one: the union of their ``k2`` keys (a frozenset holds its hashes:
testing it against the article touches no key strings) and ``k2`` → postings; a set holds
the tokens that yield nothing. An article then takes one look-up per distinct token, one set
of present keys and one disjointness test per token, all in C, and Python work only for the
tokens whose triggers fire.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from itertools import compress
from operator import itemgetter, not_
from sys import intern
from typing import cast

from monitor.matching.clauses import Clause

MEMO_LIMIT = 50_000  # tokens remembered before the memo starts afresh (≈ 25 MiB at most)
_KEYS, _SECONDS = itemgetter(0), itemgetter(1)
_EMPTY: frozenset[str] = frozenset()
Posting = tuple[tuple[int, ...], tuple[frozenset[str], ...]]
"""The rules filed under a pair of keys, and the one-key clauses each still needs."""
Trigger = tuple[frozenset[str], dict[str, tuple[Posting, ...]]]  # k2 keys; k2 → postings
_Yield = tuple[frozenset[str], frozenset[str], dict[str, tuple[Posting, ...]]]
"""What a token yields: its keys that rules check, and the triggers its keys open merged
into one (the k2 keys of them all, and k2 → their postings)."""


class KeyIndex:
    """Rule ids filed under pairs of index keys; ``triggered(tokens)`` finds them."""

    def __init__(self, filed: Sequence[Sequence[Clause]]) -> None:
        """``filed[rid]``: rule ``rid``'s clauses (at least one), the two to index first."""
        rules: dict[str, dict[str, tuple[list[int], list[frozenset[str]]]]] = {}
        self._alternatives: dict[int, tuple[Clause, ...]] = {}  # the clauses of several keys
        for rid, found in enumerate(filed):
            if not found:
                raise ValueError(f"rule {rid} has no clause: it would match every article")
            required = frozenset(c[0] for c in found[2:] if len(c) == 1) or _EMPTY
            if any(len(c) > 1 for c in found[2:]):
                self._alternatives[rid] = tuple(c for c in found[2:] if len(c) > 1)
            for k1 in found[0]:
                sub = rules.setdefault(k1, {})
                for k2 in found[1] if len(found) > 1 else ("",):
                    ids, needs = sub.setdefault(k2, ([], []))
                    ids.append(rid)
                    needs.append(required)
        self._triggers: dict[str, Trigger] = {
            k1: (frozenset(sub), {k2: ((tuple(i), tuple(n)),) for k2, (i, n) in sub.items()})
            for k1, sub in rules.items()
        }
        keys = {k for found in filed for clause in found for k in clause}
        self._exact = frozenset(k for k in keys if k[0] != "*")
        self._stems = frozenset(k[1:] for k in keys if k[0] == "*")
        self._stem_lengths = tuple(sorted({len(s) for s in self._stems}))
        self._checked = frozenset(k for found in filed for c in found[1:] for k in c)
        self._memo: dict[str, _Yield | tuple[()]] = {}  # the tokens seen: what they yield
        self._intern()

    def _intern(self) -> None:
        """Every key one object, so that set look-ups on the hot path compare by identity."""
        self._triggers = {
            intern(k1): (
                frozenset(map(intern, k2s)),
                {intern(k2): tuple((i, tuple(_interned(n) for n in ns)) for i, ns in p)
                 for k2, p in postings.items()},
            )
            for k1, (k2s, postings) in self._triggers.items()
        }  # fmt: skip
        self._checked = _interned(self._checked)
        self._alternatives = {
            rid: tuple(tuple(map(intern, c)) for c in cs) for rid, cs in self._alternatives.items()
        }

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the memo, which the new owner fills with its own tokens."""
        return {**self.__dict__, "_memo": {}}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._intern()  # unpickled strings are not interned

    def _yields(self, token: str) -> _Yield | tuple[()]:
        keys = [token] if token in self._exact else []
        keys += ["*" + token[:n] for n in self._stem_lengths if token[:n] in self._stems]
        if not keys:
            self._memo[token] = ()
            return ()
        keys = list(map(intern, keys))
        opens = [t for t in map(self._triggers.get, keys) if t is not None]
        found = self._memo[token] = (self._checked.intersection(keys) or _EMPTY, *_merged(opens))
        return found

    def triggered(self, tokens: Set[str]) -> list[int]:
        """Ids (ascending) of the rules whose every clause has a key among ``tokens``."""
        memo = self._memo
        if len(memo) > MEMO_LIMIT:
            memo.clear()
        maybe = list(map(memo.get, tokens))
        if None in maybe:
            yields = self._yields
            maybe = [yields(t) if g is None else g for t, g in zip(tokens, maybe, strict=True)]
        got = cast(list[_Yield], list(filter(None, maybe)))  # the tokens that yield keys
        present = {""}  # the keys present that rules check beyond their first clause
        present.update(*map(_KEYS, got))
        ids: set[int] = set()
        # A prefix key may come from several tokens: its trigger then fires more than once.
        fired = map(not_, map(present.isdisjoint, map(_SECONDS, got)))
        for _, k2s, postings in compress(got, fired):
            for k2 in k2s & present:
                for rids, needs in postings[k2]:
                    ids.update(compress(rids, map(present.issuperset, needs)))
        alternatives = self._alternatives
        if not alternatives:
            return sorted(ids)
        return [
            rid
            for rid in sorted(ids)
            if rid not in alternatives or all(not present.isdisjoint(c) for c in alternatives[rid])
        ]


def _interned(keys: frozenset[str]) -> frozenset[str]:
    return frozenset(map(intern, keys)) if keys else _EMPTY


def _merged(opens: Sequence[Trigger]) -> Trigger:
    """Several triggers as one (one as itself, sharing its tables)."""
    if len(opens) == 1:
        return opens[0]
    merged: dict[str, tuple[Posting, ...]] = {}
    for _, postings in opens:
        for k2, found in postings.items():
            merged[k2] = merged.get(k2, ()) + found
    return frozenset(merged), merged
