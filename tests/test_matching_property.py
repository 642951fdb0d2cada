"""Property tests: the compiled index agrees with evaluating every rule on its own, and the
evaluator agrees with a brute-force reading of the rule language."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config.schema import Rule
from monitor.matching.evaluate import evaluate
from monitor.matching.index import RuleIndex, build_match
from monitor.matching.nodes import And, Entity, Near, Node, Not, Or, Term
from monitor.matching.query import QueryError, parse_query
from monitor.matching.text import Analysis, terms_of
from monitor.model import Document

WORDS = ["alpha", "alps", "beta", "gamma", "al", "hayeh", "café", "حماس"]
SPELLINGS = {"café": ["café", "CAFE", "cafe\u0301"], "حماس": ["حماس", "حَمَاس"], "al": ["Al", "al"]}
ENTITIES = {"hay": ["al-Hayeh", "Gamma Beta"], "ham": ["حماس"]}
SEPARATORS = [" ", " ", " ", "-", ", ", "’s ", "\n\n", ". "]

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def texts(draw: st.DrawFn, max_words: int = 25) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), max_size=max_words))
    out = []
    for word in words:
        out.append(draw(st.sampled_from(SPELLINGS.get(word, [word, word.upper()]))))
        out.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(out)


def _leaf() -> st.SearchStrategy[str]:
    word = st.sampled_from(WORDS)
    return st.one_of(
        word,
        st.sampled_from(["alp*", "al*", "gam*", "be*", "ca*"]),
        st.builds(lambda a, b: f'"{a} {b}"', word, word),
        st.sampled_from(['"al-hayeh"', '"hayeh al*"', "@hay", "@ham"]),
        st.builds(lambda f, w: f"{f}:{w}", st.sampled_from(["title", "text"]), word),
    )


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    near_side = st.one_of(_leaf(), st.builds(lambda a, b: f"({a} OR {b})", _leaf(), _leaf()))
    return st.one_of(
        st.builds(lambda a, b: f"({a} AND {b})", inner, inner),
        st.builds(lambda a, b: f"({a} {b})", inner, inner),
        st.builds(lambda a, b: f"({a} OR {b})", inner, inner),
        st.builds(lambda a, b: f"({a} -{b})", inner, inner),
        st.builds(lambda a, b: f"({a} AND NOT {b})", inner, inner),
        st.builds(lambda a, n, b: f"{a} NEAR/{n} {b}", near_side, st.integers(0, 4), near_side),
    )


queries = st.recursive(_leaf(), _extend, max_leaves=6)


def _parse(text: str) -> Node | None:
    try:
        return parse_query(text, ENTITIES).root
    except QueryError:
        return None  # e.g. "a -a": rejected as matching nothing


frequencies = st.one_of(
    st.none(), st.dictionaries(st.sampled_from(terms_of(" ".join(WORDS))), st.floats(0, 1))
)


@SETTINGS
@given(
    st.lists(queries, min_size=1, max_size=8),
    st.lists(st.tuples(texts(6), texts()), max_size=4),
    frequencies,
)
def test_compiled_index_agrees_with_each_rule_evaluated_alone(
    queries: list[str], docs: list[tuple[str, str]], freq: dict[str, float] | None
) -> None:
    rules = [Rule(name=f"r{i}", query=q) for i, q in enumerate(queries) if _parse(q)]
    index = RuleIndex.compile(rules, ENTITIES, frequencies=freq)
    for title, text in docs:
        analysis = Analysis.of(title, text)
        expected = []
        for compiled in index.compiled:
            hits = evaluate(compiled.query, analysis)
            if hits is not None:
                expected.append(build_match(compiled, hits, analysis))
        assert index.match(Document(title, text)) == expected


# A brute-force reading of docs/rules.md, independent of the evaluator's look-up tables.

Occ = tuple[str, int, int]


def _fields(node: Term | Entity) -> list[str]:
    return ["title", "text"] if node.field is None else [node.field]


def _occurrences(node: Node, doc: dict[str, list[str]]) -> set[Occ]:
    if isinstance(node, Entity):
        return {o for alias in node.aliases for o in _occurrences(alias, doc)}
    if isinstance(node, Term):
        found = set()
        for field in _fields(node):
            toks = doc[field]
            for i in range(len(toks) - len(node.parts) + 1):
                window = toks[i : i + len(node.parts)]
                same = window[:-1] == list(node.parts[:-1])
                last = window[-1] == node.parts[-1] or (
                    node.prefix and window[-1].startswith(node.parts[-1])
                )
                if same and last:
                    found.add((field, i, i + len(node.parts)))
        return found
    if isinstance(node, Or):
        return {o for child in node.children for o in _occurrences(child, doc)}
    assert isinstance(node, Near)
    return {
        (f1, min(s1, s2), max(e1, e2))
        for f1, s1, e1 in _occurrences(node.left, doc)
        for f2, s2, e2 in _occurrences(node.right, doc)
        if f1 == f2 and (0 <= s2 - e1 <= node.distance or 0 <= s1 - e2 <= node.distance)
    }


def holds(node: Node, doc: dict[str, list[str]]) -> bool:
    if isinstance(node, And):
        return all(holds(c, doc) for c in node.children)
    if isinstance(node, Or):
        return any(holds(c, doc) for c in node.children)
    if isinstance(node, Not):
        return not holds(node.child, doc)
    return bool(_occurrences(node, doc))


@SETTINGS
@given(queries, texts(6), texts())
def test_evaluator_agrees_with_brute_force(query: str, title: str, text: str) -> None:
    root = _parse(query)
    if root is None:
        return
    doc = {"title": terms_of(title), "text": terms_of(text)}
    hits = evaluate(parse_query(query, ENTITIES), Analysis.of(title, text))
    assert (hits is not None) == holds(root, doc)
    for _, field, start, end in hits or ():
        assert 0 <= start < end <= len(doc[field])
