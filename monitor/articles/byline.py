"""The author named in a page's markup, as trafilatura's ``extract_author`` finds it, in
one pass over the tree.

trafilatura copies the whole tree, deletes the parts that never name an author (comment
lists, dates, figures...), then tries three XPath expressions in turn (specific bylines,
generic ones, anything author-like) and takes the first candidate with 3 to 119 characters
of text. Its expressions test attributes with EXSLT regular expressions, which call back
into Python for every element, three times over; that made it the costliest step of our
extraction after trafilatura's own. Every condition looks only at an element's own tag and
attributes, so one Python pass classifies the elements the same way, and only a candidate
holding a deleted part is copied. ``tests/test_articles_metadata.py`` checks the answer
against trafilatura's on every page of the shared corpora (pinned trafilatura range).
"""

from __future__ import annotations

import re
from copy import deepcopy

from lxml import etree
from lxml.html import HtmlElement
from trafilatura.json_metadata import normalize_authors
from trafilatura.utils import trim
from trafilatura.xml import delete_element

MAX_CHARS = 120

_SPECIFIC_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_SPECIFIC_CLASS = re.compile(r"author-?name|AuthorName|authorName")
_GENERIC_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
_GENERIC_CLASSES = frozenset({"byline", "username", "byl", "BBL"})
_GENERIC_ID = re.compile(r"author|zuozhe|bianji|xiaobian")
_GENERIC_CLASS = re.compile(
    r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
)
_ANY_ID = re.compile(r"[Aa]uthor")
_ANY_CLASS = re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline")

_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_DISCARD_IDS = frozenset({"comments"})
_DISCARD_CLASSES = frozenset({"comments", "title", "date"})
_DISCARD_ID = re.compile(r"^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram"
    r"|article-(?:share|support)|print|category|meta-date|meta-reviewer"
)


# Every class or id the patterns above can match contains one of these; most contain none,
# which one search settles.
_CLASS_HINT = re.compile(
    r"[Aa]uthor|AuthorName|screenname|writer|[Bb]yline|channel-name|zuozhe|bianji|xiaobian"
    r"|submitted-by|posted-by|journalist-name|[Cc]omments|commentlist|sidebar|is-hidden"
    r"|quote|embedly-instagram|article-(?:share|support)|print|category|meta-date"
    r"|meta-reviewer"
)
_ID_HINT = re.compile(r"[Aa]uthor|zuozhe|bianji|xiaobian|comment|ProductReviews")

SPECIFIC, GENERIC, ANYTHING, DISCARD = 1, 2, 4, 8


def classify(elem: HtmlElement, tag: str, *, is_root: bool = False, rel: bool = True) -> int:
    """Which of trafilatura's byline expressions match ``elem`` (a bit mask): SPECIFIC,
    GENERIC, ANYTHING (the three candidate expressions in order) and DISCARD (deleted before
    the search). ``rel=False`` says the tree has no element named "rel"."""
    found = 0
    if tag in ("time", "figure"):
        found |= DISCARD
    if tag == "author" or (rel and tag in _SPECIFIC_TAGS and _rel_me(elem)):
        found |= SPECIFIC
    if not elem.keys():
        return found
    get = elem.get
    cls, ident, itemprop = get("class") or "", get("id") or "", get("itemprop") or ""
    component = get("data-component") or ""
    cls_hint = cls != "" and _CLASS_HINT.search(cls) is not None
    id_hint = ident != "" and _ID_HINT.search(ident) is not None
    if tag in _SPECIFIC_TAGS and (
        get("rel") == "author"
        or ident == "author"
        or cls == "author"
        or itemprop == "author name"
        or get("data-testid") in ("AuthorCard", "AuthorURL")
        or (cls_hint and _SPECIFIC_CLASS.search(cls) is not None)
    ):
        found |= SPECIFIC
    if tag in _GENERIC_TAGS and (
        cls in _GENERIC_CLASSES
        or "author" in itemprop
        or (id_hint and _GENERIC_ID.search(ident) is not None)
        or (cls_hint and _GENERIC_CLASS.search(cls) is not None)
    ):
        found |= GENERIC
    if (
        "Byline" in component
        or "author" in itemprop
        or (id_hint and _ANY_ID.search(ident) is not None)
        or (cls_hint and _ANY_CLASS.search(cls) is not None)
    ):
        found |= ANYTHING
    if (
        not is_root
        and tag in _DISCARD_TAGS
        and (
            ident in _DISCARD_IDS
            or cls in _DISCARD_CLASSES
            or (id_hint and _DISCARD_ID.search(ident) is not None)
            or (cls_hint and _DISCARD_CLASS.search(cls) is not None)
            or "Figure" in component
        )
    ):
        found |= DISCARD
    return found


def _rel_me(elem: HtmlElement) -> bool:
    """trafilatura's ``rel='me'`` (no @): a child element named "rel" whose text is "me"."""
    return any(child.text_content() == "me" for child in elem.iterchildren("rel"))


def author_from_markup(tree: HtmlElement) -> str | None:
    """The page's author from its bylines, or None (same answer as trafilatura's)."""
    specific: list[HtmlElement] = []
    generic: list[HtmlElement] = []
    anything: list[HtmlElement] = []
    deleted: list[HtmlElement] = []
    rel = tree.find(".//rel") is not None
    for elem in tree.iter(etree.Element):
        tag = elem.tag if isinstance(elem.tag, str) else ""
        found = classify(elem, tag, is_root=elem is tree, rel=rel)
        for bit, into in ((SPECIFIC, specific), (GENERIC, generic), (ANYTHING, anything)):
            if found & bit:
                into.append(elem)
        if found & DISCARD:
            deleted.append(elem)
    gone = set(deleted)  # lxml proxies hash by identity; ``deleted`` keeps them alive
    for group in (specific, generic, anything):
        for elem in group:
            if elem in gone or any(a in gone for a in elem.iterancestors()):
                continue
            content = trim(" ".join(_without(elem, gone).itertext()))
            if content and 2 < len(content) < MAX_CHARS:
                return normalize_authors(None, content)
    return None


def _without(elem: HtmlElement, gone: set[HtmlElement]) -> HtmlElement:
    """``elem``, or a copy of it without its descendants in ``gone`` (their tails kept)."""
    inside = [e for e in elem.iterdescendants() if e in gone]
    if not inside:
        return elem
    copy = deepcopy(elem)
    twin = dict(zip(elem.iter(), copy.iter(), strict=True))
    for e in inside:
        delete_element(twin[e])
    return copy
