"""The query parser: the trees it builds and the errors it reports, with their columns."""

from __future__ import annotations

import pytest

from monitor.config.schema import Rule
from monitor.errors import ConfigError
from monitor.matching.index import RuleIndex
from monitor.matching.nodes import And, Entity, Near, Not, Or, Term
from monitor.matching.query import QueryError, parse_query

ENTITIES = {"hamas": ["Hamas", "حماس"], "iran": ["Iran"]}


def test_precedence_builds_the_expected_tree() -> None:
    root = parse_query("a OR NOT b c NEAR/2 d e").root
    a, b, c, d, e = (Term((x,)) for x in "abcde")
    assert root == Or((a, And((Not(b), Near(c, d, 2), e))))


def test_terms_keep_spelling_field_and_column() -> None:
    q = parse_query('title:Hamas "Al-Hayeh" syri* text:(x OR y)')
    hamas, hayeh, syri, group = q.root.children  # type: ignore[union-attr]
    assert hamas == Term(("hamas",), False, "title")
    assert (hamas.source, hamas.column) == ("title:Hamas", 1)
    assert hayeh == Term(("al", "hayeh"))
    assert (hayeh.source, hayeh.column) == ('"Al-Hayeh"', 13)
    assert syri == Term(("syri",), True)
    assert group == Or((Term(("x",), False, "text"), Term(("y",), False, "text")))


def test_entities_resolve_to_alias_phrases() -> None:
    node = parse_query("@hamas", ENTITIES).root
    assert isinstance(node, Entity)
    assert node.aliases == (Term(("hamas",)), Term(("حماس",)))
    assert parse_query("@Hamas", ENTITIES).root == node  # names are looked up case-blind
    unchecked = parse_query("@whoever").root  # without entities, accepted as written
    assert isinstance(unchecked, Entity)
    assert unchecked.aliases == ()


ERRORS = [
    ("", "the query is empty", 1),
    ("(hamas OR hezbollah", "unbalanced parenthesis at column 1", 1),
    ("hamas OR hezbollah)", "unbalanced parenthesis at column 19", 19),
    ('hamas AND (iran OR (syria "x")', "unbalanced parenthesis at column 11", 11),
    ("()", "empty parentheses at column 1", 1),
    ('"axis of resistance', "unclosed quote at column 1", 1),
    ("hamas AND", "AND needs a term after it at column 7", 7),
    ("AND hamas", "AND needs a term before it at column 1", 1),
    ("hamas OR OR iran", "OR needs a term after it at column 7", 7),
    ("hamas NOT", "NOT needs a term after it at column 7", 7),
    ("hamas -", "- needs a term right after it at column 7", 7),
    ("hamas NEAR damascus", "NEAR at column 7 needs a distance, such as NEAR/5", 7),
    ("hamas NEAR/x damascus", "NEAR/x at column 7 needs a distance, such as NEAR/5", 7),
    ("NEAR/3 hamas", "NEAR/3 needs a term before it at column 1", 1),
    ("hamas NEAR/3", "NEAR/3 needs a term after it at column 7", 7),
    ("hamas NEAR/3 -gaza", "NEAR/3 needs a term after it at column 7", 7),
    (
        "(a b) NEAR/3 c",
        "NEAR/3 at column 7 joins only terms, phrases, @entities and (… OR …) groups, "
        "not AND or NOT",
        7,
    ),
    ("hamas title:", "title: needs a term right after it at column 7", 7),
    ("@hezbollah", "unknown entity @hezbollah at column 1", 1),
    ("iran @", "@ needs an entity name at column 6", 6),
    ("syr*ia", "* is allowed only at the end of a word or phrase at column 1", 1),
    ("s*", "s* is too short a prefix at column 1", 1),
    ('hamas "!!"', '"!!" has no letters or digits to match at column 7', 7),
    ('hamas ""', "empty phrase at column 7", 7),
    ("NOT gaza", "this rule matches every article: NOT alone has nothing to match (column 1)", 1),
    (
        "-gaza -israel",
        "this rule matches every article: NOT alone has nothing to match (column 1)",
        1,
    ),
    (
        "hamas OR NOT gaza",
        "this rule matches articles that hold none of its terms: the NOT at column 10 needs a "
        "term beside it joined by AND, not OR",
        10,
    ),
    (
        "hamas -hamas",
        "this rule can never match: it asks for a term and for NOT the same term (column 7)",
        7,
    ),
]


@pytest.mark.parametrize(("query", "message", "column"), ERRORS)
def test_errors_name_the_column(query: str, message: str, column: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query, ENTITIES)
    assert str(caught.value) == message
    assert caught.value.column == column


def test_compile_reports_every_bad_rule_as_a_config_error() -> None:
    rules = [
        Rule(name="ok", query="hamas"),
        Rule(name="bad", query="(hamas"),
        Rule(name="off", query="((", enabled=False),  # disabled rules are not compiled
        Rule(name="worse", query="@nobody"),
    ]
    with pytest.raises(ConfigError) as caught:
        RuleIndex.compile(rules, ENTITIES)
    assert [(i.path, i.col, i.message) for i in caught.value.issues] == [
        ("rules[1].query", 1, "unbalanced parenthesis at column 1"),
        ("rules[3].query", 1, "unknown entity @nobody at column 1"),
    ]
