"""Promotional blocks: containers recognisable by markup, and reader appeals in text.

:func:`remove_promo_containers` drops elements whose class, id, role, aria-label or data-*
values name a promotional purpose (donation, newsletter, subscribe, related, share, ad slot…).
Values are split into word tokens ("newsletterSignup" → newsletter, signup; "ad-slot" → ad,
slot) and compared as whole tokens, so ``ad`` never matches "header" or "read". Containers of
the article itself are protected: only common container tags are examined (never ``article``,
``main`` or ``body``), and no element holding much text or a large share of the page's text.

:func:`is_promo_sentence` recognises a sentence that addresses the reader with an appeal
("Your support makes all the difference."); it is only applied to sentences glued onto a
paragraph's edge, where a foreign block is likely.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from lxml.html import HtmlElement

PROMO_TOKENS = frozenset(
    {
        # appeals for money
        "donate", "donation", "donations", "donor", "contribute", "contribution",
        "contributions", "appeal", "supportus",
        # newsletters and subscription prompts
        "newsletter", "newsletters", "subscribe", "subscription", "subscriptions", "signup",
        "cta",
        # promotion and advertising
        "promo", "promos", "promotion", "promotions", "promotional", "promoted",
        "ad", "ads", "adslot", "adunit", "advert", "adverts", "advertisement",
        "advertisements", "advertising", "sponsored", "sponsor", "outbrain", "taboola",
        # links to other pages
        "related", "recommended", "recommendation", "recommendations", "mostread",
        "mostpopular", "trending",
        # share bars
        "share", "sharing", "sharebar", "social",
    }
)  # fmt: skip

CONTAINER_TAGS = ("div", "section", "aside", "form", "figure", "header", "footer", "nav",
                  "ul", "ol", "li", "dl", "table", "p", "span", "h2", "h3", "h4")  # fmt: skip
"""The elements examined; ``html``, ``body``, ``main`` and ``article`` never are."""
MAX_PROMO_CHARS = 3000
"""A container with more text than this is never treated as promotional."""
MAX_PROMO_SHARE = 0.5
"""Nor is one holding more than this share of the page's text."""

_LABELS = frozenset({"class", "id", "role", "aria-label"})
_CHUNK = re.compile(r"[A-Za-z0-9]+")
_LETTERS_NUMBER = re.compile(r"([A-Za-z]+)\d*")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# quick pre-check: every promo token contains one of these
_STEMS = re.compile(
    "ad|appeal|contribut|cta|donat|donor|newsletter|outbrain|promo|recommend|related|"
    "most|share|sharing|sign|social|sponsor|subscri|support|taboola|trending",
    re.IGNORECASE,
)
_NEGATIONS = frozenset({"no", "non", "not", "without"})
_DATA_VALUE = re.compile(r"[\w-]{1,60}")
_SPACES = re.compile(r"\s+")
_VISIBLE_TEXT = ".//text()[not(ancestor::script or ancestor::style)]"
_APPEAL = re.compile(
    r"\b(?:your (?:support|donation|contribution|subscription|gift)"
    r"|support (?:us|our (?:journalism|work|reporting)|(?:independent|quality) journalism)"
    r"|donate (?:now|today|here|to us)|make a (?:donation|contribution)"
    r"|subscribe (?:now|today|here|to (?:our|us))"
    r"|sign up (?:now|today|here|for free|(?:for|to) our)"
    r"|our (?:free )?newsletters?|become a (?:member|subscriber|supporter|patron)|paywalls?"
    r"|thank you for (?:reading|your support))\b",
    re.IGNORECASE,
)
MAX_APPEAL_WORDS = 30


def attribute_tokens(value: str) -> set[str]:
    """Lower-case word tokens of an attribute value, plus each adjacent pair joined.

    Runs of letters are split at camel-case humps; a run mixing letters and digits (a hash,
    an id) stays one opaque token, a trailing number is dropped ("ad300" → "ad"). A word
    after a negation ("non-paywall", "no-ads") is left out.
    """
    words: list[str] = []
    for chunk in _CHUNK.findall(value):
        letters = _LETTERS_NUMBER.fullmatch(chunk)
        if letters is None:
            words.append(chunk.lower())
        else:
            words.extend(w.lower() for w in _CAMEL.findall(letters[1]))
    kept = [w for i, w in enumerate(words) if i == 0 or words[i - 1] not in _NEGATIONS]
    return set(kept) | {a + b for a, b in itertools.pairwise(kept)}


@lru_cache(maxsize=4096)
def _promo_value(value: str) -> bool:
    return _STEMS.search(value) is not None and not PROMO_TOKENS.isdisjoint(attribute_tokens(value))


def _promo_label(elem: HtmlElement) -> bool:
    for name, value in elem.attrib.items():
        labelled = name in _LABELS or (name.startswith("data-") and _DATA_VALUE.fullmatch(value))
        if labelled and _promo_value(value):
            return True
    return False


def preview(text: str, width: int = 80) -> str:
    """One line of at most ``width`` characters summarising ``text``."""
    line = _SPACES.sub(" ", text).strip()
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def remove_promo_containers(root: HtmlElement) -> list[str]:
    """Drop promotional containers from ``root`` in place; return previews of their text."""
    body = root.find("body")
    scope = body if body is not None else root
    limit = min(MAX_PROMO_CHARS, MAX_PROMO_SHARE * len(scope.text_content()))
    doomed: list[HtmlElement] = []
    removed: list[str] = []
    for elem in scope.iter(*CONTAINER_TAGS):
        if not elem.attrib or not _promo_label(elem):
            continue
        if doomed and any(anc is doomed[-1] for anc in elem.iterancestors()):
            continue  # inside a container already dropped
        if len(elem.text_content()) > limit:
            continue
        doomed.append(elem)
        if text := preview(" ".join(elem.xpath(_VISIBLE_TEXT))):
            removed.append(text)
    for elem in doomed:
        elem.drop_tree()  # keeps the tail text
    return removed


def is_promo_sentence(sentence: str) -> bool:
    """Whether a short sentence asks the reader to support, donate, subscribe or sign up."""
    return len(sentence.split()) <= MAX_APPEAL_WORDS and _APPEAL.search(sentence) is not None
