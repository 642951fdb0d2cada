"""The key index finds exactly the rules whose every clause has a key among the tokens."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.matching import triggers
from monitor.matching.clauses import Clause
from monitor.matching.triggers import KeyIndex

TOKENS = ["a", "ab", "abc", "abd", "b", "ba", "bab", "c", "ca"]
KEYS = [*TOKENS, "*a", "*ab", "*b", "*ba", "*c", "*x"]
clause = st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True).map(tuple)
rules = st.lists(st.lists(clause, min_size=1, max_size=5), min_size=1, max_size=12)
articles = st.lists(st.sets(st.sampled_from(TOKENS)), min_size=1, max_size=6)


def brute_force(filed: list[list[Clause]], tokens: set[str]) -> list[int]:
    def present(key: str) -> bool:
        if key.startswith("*"):
            return any(t.startswith(key[1:]) for t in tokens)
        return key in tokens

    return [
        rid for rid, found in enumerate(filed) if all(map(any, ([*map(present, c)] for c in found)))
    ]


@settings(max_examples=300, deadline=None)
@given(rules, articles)
def test_triggered_equals_brute_force(filed: list[list[Clause]], docs: list[set[str]]) -> None:
    index = KeyIndex(filed)
    for tokens in docs + docs[::-1]:  # seen again: from the memo
        assert index.triggered(tokens) == brute_force(filed, tokens)


@settings(max_examples=50, deadline=None)
@given(rules, articles)
def test_an_unpickled_index_finds_the_same_rules(
    filed: list[list[Clause]], docs: list[set[str]]
) -> None:
    index = KeyIndex(filed)
    seen = [index.triggered(tokens) for tokens in docs]
    copy = pickle.loads(pickle.dumps(index))
    assert [copy.triggered(tokens) for tokens in docs] == seen


def test_a_full_memo_starts_afresh_and_answers_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    filed: list[list[Clause]] = [[("ab",), ("*c",)], [("*a",)], [("b",), ("ba", "c"), ("*x",)]]
    index = KeyIndex(filed)
    monkeypatch.setattr(triggers, "MEMO_LIMIT", 2)
    for tokens in [{"ab", "ca"}, {"abd"}, {"b", "c"}, {"b", "c", "xy"}, {"ab", "cc"}]:
        assert index.triggered(tokens) == brute_force(filed, tokens)
        assert len(index._memo) <= 2 + len(tokens)


def test_a_rule_without_clauses_is_refused() -> None:
    with pytest.raises(ValueError, match="rule 1 has no clause"):
        KeyIndex([[("a",)], []])
