"""Python twins of trafilatura's costliest discard expressions.

trafilatura prunes boilerplate with XPath expressions whose ``re:test`` calls (EXSLT
regular expressions) call back into Python for every element they test; the two of
``OVERALL_DISCARD_XPATH`` and the comment and raw-tree prunes took about a third of
extraction. Each condition looks only at an element's tag and attributes (one also at its
``h1`` descendants), so one Python pass over the candidate tags with the same regular
expressions selects the same elements, in document order, several times faster.

:func:`install` swaps a twin into trafilatura's list in place of its expression only when the
expression's text is the one the twin was written for (the regular expressions are read from
that text, and the rest of it must match the twin's skeleton); after a trafilatura upgrade that
changes one, the original stays. ``tests/test_articles_discard.py`` checks on corpus pages, raw
and as trafilatura meets them, that each twin selects what its expression selects, and that
extraction is unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree
from lxml.html import HtmlElement
from trafilatura import xpaths

_RE_TEST = re.compile(r"re:test\((@[\w|@-]+), '([^']*)'\)")
_SPACE = re.compile(r"\s+")

CACHE_LIMIT = 20_000
"""Attribute values remembered per pattern before its memo starts afresh."""


class Search:
    """``pattern.search(value) is not None``, remembered per value: class and id values
    repeat within a page and across a site's pages, and the long alternations are slow."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)
        self._memo: dict[str, bool] = {}

    def __call__(self, value: str | None) -> bool:
        if not value:
            return False  # install() refuses patterns that match the empty string
        found = self._memo.get(value)
        if found is None:
            if len(self._memo) >= CACHE_LIMIT:
                self._memo.clear()
            found = self._memo[value] = self.pattern.search(value) is not None
        return found


Predicate = Callable[[HtmlElement, dict[str, str], list[Search]], bool]


def _first(attrs: dict[str, str], a: str, b: str) -> str | None:
    """XPath's string value of ``@a|@b``: the value of whichever of the two comes first."""
    for key, value in attrs.items():
        if key in (a, b):
            return value
    return None


def _overall_blocks(e: HtmlElement, attrs: dict[str, str], p: list[Search]) -> bool:
    get = attrs.get
    return (
        "data-lp-replacement-content" in attrs
        or "nav" in (get("role") or "").replace("N", "n")
        or "MostPopularStories" in (get("data-component") or "")
        or p[0](_first(attrs, "id", "class"))
        or p[1](get("id"))
        or p[2](get("class"))
    )


def _overall_hidden(e: HtmlElement, attrs: dict[str, str], p: list[Search]) -> bool:
    get = attrs.get
    cls, style = get("class"), get("style") or ""
    return (
        cls == "comments-title"
        or (_first(attrs, "id", "class") or "").startswith("reply-")
        or p[0](_first(attrs, "id", "style"))
        or "display:none" in style
        or "display: none" in style
        or p[1](get("id"))
        or p[2](cls)
        or get("aria-hidden") == "true"
    )


def _comments(e: HtmlElement, attrs: dict[str, str], p: list[Search]) -> bool:
    return p[0](attrs.get("id")) or p[1](attrs.get("class"))


def _comments_and_lists(e: HtmlElement, attrs: dict[str, str], p: list[Search]) -> bool:
    ident, cls = attrs.get("id"), attrs.get("class")
    return (p[0](ident) or p[1](cls)) and (e.tag not in ("ol", "ul") or p[2](ident) or p[3](cls))


def _infinite_scroll(e: HtmlElement, attrs: dict[str, str], p: list[Search]) -> bool:
    ident, cls = attrs.get("id"), attrs.get("class")
    return (p[0](ident) or p[1](cls)) and (
        next(e.iterdescendants("h1"), None) is None or p[2](ident) or p[3](cls)
    )


@dataclass(frozen=True)
class Twin:
    """One expression's replacement: called on a tree like the XPath object it replaces."""

    tags: tuple[str, ...]
    """The element names the expression selects; empty for any element."""
    patterns: list[Search]
    predicate: Predicate
    original: object
    """The XPath expression this twin stands in for."""

    def __call__(self, tree: HtmlElement) -> list[HtmlElement]:
        test, patterns = self.predicate, self.patterns
        found = []
        for elem in self._candidates(tree):
            items = elem.items()
            if items and test(elem, dict(items), patterns):
                found.append(elem)
        return found

    def _candidates(self, tree: HtmlElement) -> Iterator[HtmlElement]:
        return tree.iterdescendants(*(self.tags or (etree.Element,)))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Spec:
    """Where an expression lives, what it must read like, and its twin's logic."""

    table: str
    index: int
    skeleton: str
    """The expression with each ``re:test`` pattern written as ``…``, spaces collapsed."""
    tags: tuple[str, ...]
    predicate: Predicate


_CONTAINERS = "self::div or self::item or self::list or self::p or self::section or self::span"
_COMMENT_TAGS = "self::div or self::list or self::section or self::details"
_COMMENT_IDS = "re:test(@id, '…') or re:test(@class, '…')"
SPECS = (
    Spec(
        "OVERALL_DISCARD_XPATH",
        0,
        f".//*[{_CONTAINERS}][ @data-lp-replacement-content or contains(translate(@role, 'N',"
        " 'n'), 'nav') or contains(@data-component, 'MostPopularStories') or"
        " re:test(@id|@class, '…') or re:test(@id, '…') or re:test(@class, '…')]",
        ("div", "item", "list", "p", "section", "span"),
        _overall_blocks,
    ),
    Spec(
        "OVERALL_DISCARD_XPATH",
        1,
        ".//*[@class='comments-title' or starts-with(@id|@class, 'reply-') or"
        " re:test(@id|@style, '…') or contains(@style, 'display:none') or contains(@style,"
        " 'display: none') or re:test(@id, '…') or re:test(@class, '…') or"
        " @aria-hidden='true']",
        (),
        _overall_hidden,
    ),
    Spec(
        "REMOVE_COMMENTS_XPATH",
        0,
        f".//*[{_COMMENT_TAGS}][ {_COMMENT_IDS}]",
        ("div", "list", "section", "details"),
        _comments,
    ),
    Spec(
        "REMOVE_COMMENTS_AND_LISTS_XPATH",
        0,
        f".//*[{_COMMENT_TAGS} or self::ol or self::ul][ {_COMMENT_IDS}][ not(self::ol or"
        f" self::ul) or {_COMMENT_IDS}]",
        ("div", "list", "section", "details", "ol", "ul"),
        _comments_and_lists,
    ),
    Spec(
        "RAW_TREE_PRUNE_XPATH",
        0,
        f".//*[self::div or self::section or self::aside][ {_COMMENT_IDS}][ not(.//h1) or"
        f" {_COMMENT_IDS}]",
        ("div", "section", "aside"),
        _infinite_scroll,
    ),
)


def twin_for(spec: Spec, expression: object) -> Twin | None:
    """The twin of ``expression`` (an lxml XPath), or None if its text is not the expected."""
    text = _SPACE.sub(" ", str(getattr(expression, "path", ""))).strip()
    found = _RE_TEST.findall(text)
    if _RE_TEST.sub(lambda m: f"re:test({m[1]}, '…')", text) != spec.skeleton:
        return None
    patterns = [Search(pattern) for _, pattern in found]
    if any(p.pattern.search("") for p in patterns):
        return None  # the twins skip absent and empty values, which such a pattern matches
    return Twin(spec.tags, patterns, spec.predicate, expression)


def install(enable: bool = True) -> list[str]:
    """Put the twins into trafilatura's expression lists (or the originals back, with
    ``enable=False``); return the names of the expressions a twin now stands in for."""
    swapped = []
    for spec in SPECS:
        table = getattr(xpaths, spec.table)
        current = table[spec.index]
        if isinstance(current, Twin) and not enable:
            table[spec.index] = current = current.original
        elif not isinstance(current, Twin) and enable:
            table[spec.index] = current = twin_for(spec, current) or current
        if isinstance(current, Twin):
            swapped.append(f"{spec.table}[{spec.index}]")
    return swapped
