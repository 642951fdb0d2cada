"""Snippets: about thirty words of text around the strongest evidence of a match.

The first snippet is the window of the body holding the most distinct terms (then the most
hits); each further one (at most three in all) must show a term the earlier ones did not.
When a term occurs only in the title, the title is one of the snippets. Highlights are
character spans of the snippet text; whitespace runs are collapsed to one space and a cut
is marked with ``…``.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from monitor.matching.text import Analysis, FieldText
from monitor.model import Snippet

WIDTH = 30
LIMIT = 3
ELLIPSIS = "…"
_ODD_SPACE = re.compile(r"\s{2,}|[^\S ]")  # anything but a lone space

_OPENERS = frozenset("\"'“‘«‹([{¿¡")
_CLOSERS = re.compile(r"[^\w\s]+")  # the punctuation right after the last word
_Item = tuple[int, int, str]  # start, end, term


def build_snippets(
    analysis: Analysis,
    hits: Iterable[tuple[str, int, int, str]],
    *,
    width: int = WIDTH,
    limit: int = LIMIT,
) -> tuple[Snippet, ...]:
    """One to ``limit`` snippets showing ``hits`` ``(field, start, end, term)`` (none if
    there are no hits)."""
    body = sorted({(s, e, term) for f, s, e, term in hits if f == "text"})
    title = sorted({(s, e, term) for f, s, e, term in hits if f == "title"})
    title_only = {t for _, _, t in title} - {t for _, _, t in body}
    room = limit - 1 if title_only else limit
    out: list[Snippet] = []
    covered: set[str] = set()
    while body and len(out) < room:
        if out and {term for _, _, term in body} <= covered:
            break
        lo, hi, shown = _best_window(body, width, covered, len(analysis.text.tokens))
        covered |= shown
        out.append(_render(analysis.text, lo, hi, [i for i in body if i[0] < hi and i[1] > lo]))
        body = [i for i in body if i[1] <= lo or i[0] >= hi]
    if title_only or (title and not out):
        out.append(_render(analysis.title, 0, len(analysis.title.tokens), title))
    return tuple(out)


def _best_window(
    items: list[_Item], width: int, covered: set[str], size: int
) -> tuple[int, int, set[str]]:
    """The token range of the best window and the terms it shows."""
    starts = [start for start, _, _ in items]
    terms = [term for _, _, term in items]
    best = (-1, -1, -1)
    best_at = (0, 0)
    for i, start in enumerate(starts):
        j = bisect_left(starts, start + width, i)
        shown = set(terms[i:j])
        score = (len(shown - covered) if covered else len(shown), len(shown), j - i)
        if score > best:
            best, best_at = score, (i, j)
        if j == len(starts):
            break  # later windows hold a subset of this one
    i, j = best_at
    first = starts[i]
    last = max(end for _, end, _ in items[i:j])
    span = max(width, last - first)
    lo = max(0, first - (span - (last - first)) // 2)
    hi = min(size, lo + span)
    lo = max(0, hi - span)
    return lo, hi, set(terms[i:j])


def _render(ft: FieldText, lo: int, hi: int, items: list[_Item]) -> Snippet:
    spans = ft.spans()
    begin, finish = spans[lo][0], spans[hi - 1][1]
    text = ft.original
    while begin > 0 and text[begin - 1] in _OPENERS:
        begin -= 1
    closing = _CLOSERS.match(text, finish)
    if closing:
        finish = closing.end()
    raw = text[begin:finish]
    marks: list[tuple[int, int]] = []
    for start, end, _ in items:  # sorted
        a, b = spans[max(start, lo)][0] - begin, spans[min(end, hi) - 1][1] - begin
        if marks and a <= marks[-1][1]:
            marks[-1] = (marks[-1][0], max(b, marks[-1][1]))
        else:
            marks.append((a, b))
    lead = ELLIPSIS + " " if lo > 0 else ""
    tail = " " + ELLIPSIS if hi < len(ft.tokens) else ""
    shift = len(lead)
    odd = "  " in raw or "\n" in raw or "\t" in raw or "\r" in raw or "\xa0" in raw
    runs = [m.span() for m in _ODD_SPACE.finditer(raw)] if odd else []
    if runs:  # collapse whitespace runs to one space; offsets after a run move left
        cuts = [e for _, e in runs]
        starts = [0, *cuts]
        raw = (
            " ".join(raw[a:b] for a, (b, _) in zip(starts, runs, strict=False))
            + " "
            + raw[cuts[-1] :]
        )
        lost = list(itertools.accumulate(e - s - 1 for s, e in runs))
        marks = [(_moved(a, cuts, lost), _moved(b, cuts, lost)) for a, b in marks]
    highlights = tuple((a + shift, b + shift) for a, b in marks)
    return Snippet(ft.name, lead + raw + tail, highlights)


def _moved(offset: int, cuts: list[int], lost: list[int]) -> int:
    k = bisect_right(cuts, offset)
    return offset - (lost[k - 1] if k else 0)
