"""Snippets: about thirty words of text around the strongest evidence of a match.

The first snippet is the window of the body holding the most distinct terms (then the most
hits); each further one (at most three in all) must show a term the earlier ones did not.
When a term occurs only in the title, the title is one of the snippets. Highlights are
character spans of the snippet text; whitespace runs are collapsed to one space and a cut
is marked with ``…``.

An article matching many rules builds many snippets, so the work shared between them is
done once per field (``FieldText.spans``). ``snippets_of`` takes the hits already split by
field, as the matcher has them.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections.abc import Iterable
from operator import itemgetter

from monitor.matching.text import Analysis, FieldText
from monitor.model import Snippet

WIDTH = 30
LIMIT = 3
ELLIPSIS = "…"
# Runs of whitespace but a lone space (as ``\\s{2,}|[^\\S ]``, which scans slower).
_ODD_SPACE = re.compile(r"[^\S ]\s*| \s+")
_OPENERS = frozenset("\"'“‘«‹([{¿¡")
_CLOSERS = re.compile(r"[^\w\s]+")  # the punctuation right after the last word
_Item = tuple[int, int, str]  # start, end, term
_END, _TERM = itemgetter(1), itemgetter(2)


def build_snippets(
    analysis: Analysis,
    hits: Iterable[tuple[str, int, int, str]],
    *,
    width: int = WIDTH,
    limit: int = LIMIT,
) -> tuple[Snippet, ...]:
    """One to ``limit`` snippets showing ``hits`` ``(field, start, end, term)`` (none if
    there are no hits)."""
    body: set[_Item] = set()
    title: set[_Item] = set()
    for f, s, e, term in hits:
        if f == "text":
            body.add((s, e, term))
        elif f == "title":
            title.add((s, e, term))
    return snippets_of(analysis, sorted(body), sorted(title), width=width, limit=limit)


def snippets_of(
    analysis: Analysis,
    body: list[_Item],
    title: list[_Item],
    *,
    width: int = WIDTH,
    limit: int = LIMIT,
) -> tuple[Snippet, ...]:
    """``build_snippets`` from the hits already split by field, as ``(start, end, term)``
    each sorted and without repeats."""
    title_only = {t for _, _, t in title}.difference(map(_TERM, body)) if title else ()
    room = limit - 1 if title_only else limit
    out: list[Snippet] = []
    covered: set[str] = set()
    size = len(analysis.text.tokens)
    while body and len(out) < room:
        if out and covered.issuperset(map(_TERM, body)):
            break
        lo, hi, shown = _best_window(body, width, covered, size)
        covered |= shown
        out.append(_render(analysis.text, lo, hi, [i for i in body if i[0] < hi and i[1] > lo]))
        if len(out) < room:
            body = [i for i in body if i[1] <= lo or i[0] >= hi]
    if title_only or (title and not out):
        out.append(_render(analysis.title, 0, len(analysis.title.tokens), title))
    return tuple(out)


def _best_window(
    items: list[_Item], width: int, covered: set[str], size: int
) -> tuple[int, int, set[str]]:
    """The token range of the best window and the terms it shows.

    A window starts at each hit and holds the hits starting less than ``width`` tokens
    later; it scores (terms not yet ``covered``, distinct terms, hits) and the first best
    wins. The windows after the first that reaches the last hit hold subsets of it."""
    n = len(items)
    if n == 1:
        i, j, shown = 0, 1, {items[0][2]}
    else:
        best = (-1, -1, -1)
        i = j = 0
        shown = set()
        for k in range(n):
            limit = items[k][0] + width
            while j < n and items[j][0] < limit:
                j += 1
            terms = set(map(_TERM, items[k:j]))
            score = (len(terms - covered) if covered else len(terms), len(terms), j - k)
            if score > best:
                best, i, shown = score, k, terms
            if j == n:
                break
        j = i + best[2]
    first = items[i][0]
    last = max(map(_END, items[i:j])) if j - i > 1 else items[i][1]
    span = max(width, last - first)
    lo = max(0, first - (span - (last - first)) // 2)
    hi = min(size, lo + span)
    lo = max(0, hi - span)
    return lo, hi, shown


def _render(ft: FieldText, lo: int, hi: int, items: list[_Item]) -> Snippet:
    spans = ft.spans()
    begin, finish = spans[lo][0], spans[hi - 1][1]
    text = ft.original
    while begin > 0 and text[begin - 1] in _OPENERS:
        begin -= 1
    closing = _CLOSERS.match(text, finish)
    if closing:
        finish = closing.end()
    shift = 2 if lo else 0  # the marks count from the start of the lead, "… "
    base = begin - shift
    marks: list[tuple[int, int]] = []
    for start, end, _ in items:  # sorted
        a, b = spans[start if start > lo else lo][0] - base, spans[min(end, hi) - 1][1] - base
        if marks and a <= marks[-1][1]:
            if b > marks[-1][1]:
                marks[-1] = (marks[-1][0], b)
        else:
            marks.append((a, b))
    tail = " " + ELLIPSIS if hi < len(ft.tokens) else ""
    raw = text[begin:finish]
    # Only a snippet holding one of these has its whitespace runs collapsed (so a lone
    # U+200A, say, stays as it is).
    if "  " in raw or "\n" in raw or "\t" in raw or "\r" in raw or "\xa0" in raw:
        raw, marks = _collapse(raw, [(a - shift, b - shift) for a, b in marks])
        if shift:
            marks = [(a + shift, b + shift) for a, b in marks]
    return Snippet(ft.name, ELLIPSIS + " " + raw + tail if lo else raw + tail, tuple(marks))


def _collapse(raw: str, marks: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """``raw`` with its whitespace runs collapsed to one space, and ``marks`` moved along."""
    runs = [m.span() for m in _ODD_SPACE.finditer(raw)]
    if not runs:
        return raw, marks
    cuts = [e for _, e in runs]
    starts = [0, *cuts]
    flat = " ".join(raw[a:b] for a, (b, _) in zip(starts, runs, strict=False))
    lost = list(itertools.accumulate(e - s - 1 for s, e in runs))
    moved = [(_moved(a, cuts, lost), _moved(b, cuts, lost)) for a, b in marks]
    return flat + " " + raw[cuts[-1] :], moved


def _moved(offset: int, cuts: list[int], lost: list[int]) -> int:
    k = bisect_right(cuts, offset)
    return offset - (lost[k - 1] if k else 0)
