"""Snippets agree with a straightforward reading of their rules (the implementation before
the per-article sharing and the faster window scoring), on corpus articles and on generated
text full of whitespace runs, brackets, accents and Arabic."""

from __future__ import annotations

import itertools
import json
import random
import re
from bisect import bisect_left, bisect_right

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.matching.snippets import ELLIPSIS, build_snippets
from monitor.matching.text import Analysis, FieldText
from monitor.model import Snippet
from tests.conftest import DATA

# The reference ---------------------------------------------------------------------------

_ODD_SPACE = re.compile(r"\s{2,}|[^\S ]")
_OPENERS = frozenset("\"'“‘«‹([{¿¡")
_CLOSERS = re.compile(r"[^\w\s]+")
Item = tuple[int, int, str]
Located = tuple[str, int, int, str]


def reference(analysis: Analysis, hits: list[Located], width: int = 30) -> tuple[Snippet, ...]:
    body = sorted({(s, e, term) for f, s, e, term in hits if f == "text"})
    title = sorted({(s, e, term) for f, s, e, term in hits if f == "title"})
    title_only = {t for _, _, t in title} - {t for _, _, t in body}
    room = 2 if title_only else 3
    out: list[Snippet] = []
    covered: set[str] = set()
    while body and len(out) < room:
        if out and {term for _, _, term in body} <= covered:
            break
        lo, hi, shown = _window(body, width, covered, len(analysis.text.tokens))
        covered |= shown
        out.append(_render(analysis.text, lo, hi, [i for i in body if i[0] < hi and i[1] > lo]))
        body = [i for i in body if i[1] <= lo or i[0] >= hi]
    if title_only or (title and not out):
        out.append(_render(analysis.title, 0, len(analysis.title.tokens), title))
    return tuple(out)


def _window(
    items: list[Item], width: int, covered: set[str], size: int
) -> tuple[int, int, set[str]]:
    starts = [start for start, _, _ in items]
    best, best_at = (-1, -1, -1), (0, 0)
    for i, start in enumerate(starts):
        j = bisect_left(starts, start + width, i)
        shown = {term for _, _, term in items[i:j]}
        score = (len(shown - covered), len(shown), j - i)
        if score > best:
            best, best_at = score, (i, j)
    i, j = best_at
    first, last = starts[i], max(end for _, end, _ in items[i:j])
    span = max(width, last - first)
    lo = max(0, first - (span - (last - first)) // 2)
    hi = min(size, lo + span)
    return max(0, hi - span), hi, {term for _, _, term in items[i:j]}


def _render(ft: FieldText, lo: int, hi: int, items: list[Item]) -> Snippet:
    spans, text = ft.spans(), ft.original
    begin, finish = spans[lo][0], spans[hi - 1][1]
    while begin > 0 and text[begin - 1] in _OPENERS:
        begin -= 1
    closing = _CLOSERS.match(text, finish)
    finish = closing.end() if closing else finish
    raw = text[begin:finish]
    marks: list[tuple[int, int]] = []
    for start, end, _ in items:
        a, b = spans[max(start, lo)][0] - begin, spans[min(end, hi) - 1][1] - begin
        if marks and a <= marks[-1][1]:
            marks[-1] = (marks[-1][0], max(b, marks[-1][1]))
        else:
            marks.append((a, b))
    # Only snippets holding one of these have their whitespace runs collapsed.
    if any(odd in raw for odd in ("  ", "\n", "\t", "\r", "\xa0")):
        runs = [m.span() for m in _ODD_SPACE.finditer(raw)]
        cuts = [e for _, e in runs]
        lost = list(itertools.accumulate(e - s - 1 for s, e in runs))
        pieces = [raw[a:b] for a, (b, _) in zip([0, *cuts], runs, strict=False)]
        raw = " ".join([*pieces, raw[cuts[-1] :]])

        def moved(x: int) -> int:
            k = bisect_right(cuts, x)
            return x - (lost[k - 1] if k else 0)

        marks = [(moved(a), moved(b)) for a, b in marks]
    lead = ELLIPSIS + " " if lo > 0 else ""
    tail = " " + ELLIPSIS if hi < len(ft.tokens) else ""
    return Snippet(
        ft.name, lead + raw + tail, tuple((a + len(lead), b + len(lead)) for a, b in marks)
    )


# Hits as the matcher finds them ----------------------------------------------------------


def hits_of(analysis: Analysis, terms: list[tuple[str, ...]]) -> list[Located]:
    """Every occurrence of each phrase ``terms`` in both fields, named by its first word."""
    found = []
    for name in ("title", "text"):
        tokens = analysis.field(name).tokens
        for parts in terms:
            for s in range(len(tokens) - len(parts) + 1):
                if tuple(tokens[s : s + len(parts)]) == parts:
                    found.append((name, s, s + len(parts), " ".join(parts)))
    return found


BBC = DATA / "corpus" / "bbc-news-2004-2005.jsonl"


def test_snippets_of_corpus_articles_agree_with_the_reference() -> None:
    rng = random.Random(7)
    with BBC.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in itertools.islice(fh, 100)]
    checked = 0
    for row in rows:
        analysis = Analysis.of(row["title"], row["text"])
        tokens = analysis.text.tokens + analysis.title.tokens
        for _ in range(6):
            picks = [
                tuple(tokens[i : i + rng.choice((1, 1, 2))])
                for i in rng.sample(range(len(tokens) - 1), rng.randint(1, 4))
            ]
            hits = hits_of(analysis, picks)
            assert build_snippets(analysis, hits) == reference(analysis, hits)
            checked += 1
    assert checked == 600


WORDS = ["alpha", "beta", "gamma", "Ḥamās", "حماس", "café", "x", "delta"]
GAPS = [
    " ",
    " ",
    " ",
    "  ",
    "\n\n",
    "\t",
    " \u200a ",
    "\u200a",
    "\xa0",
    ", ",
    ". ",
    " (",
    ") ",
    "\r\n",
]


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, str]:
    def text(max_words: int) -> str:
        words = draw(st.lists(st.sampled_from(WORDS), max_size=max_words))
        gaps = draw(
            st.lists(st.sampled_from(GAPS), min_size=len(words) + 1, max_size=len(words) + 1)
        )
        return "".join(g + w for g, w in zip(gaps, [*words, ""], strict=True))

    return text(8), text(120)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.lists(st.sampled_from(WORDS), min_size=1, max_size=4), st.integers(1, 40))
def test_snippets_of_generated_text_agree_with_the_reference(
    doc: tuple[str, str], words: list[str], width: int
) -> None:
    analysis = Analysis.of(*doc)
    terms = [tuple(Analysis.of("", w).text.tokens) for w in words]
    hits = hits_of(analysis, [t for t in terms if t])
    assert build_snippets(analysis, hits, width=width) == reference(analysis, hits, width)
