"""Repeated blocks learned per host: paragraph fingerprints and the boilerplate decision.

A paragraph that a host prints in many distinct articles (a donation appeal, a standard
disclaimer) is boilerplate for that host. The store counts, per host, in how many articles each
fingerprint was seen; :func:`learned_boilerplate` turns those counts into the set that
``extract_page`` drops.

Extraction sometimes glues two blocks into one paragraph without a space ("…the
difference.Two senior officials…"). Such a paragraph is split at the glue point
(:func:`split_glued`) and each segment is fingerprinted on its own, so a boilerplate sentence
glued to the story's first sentence is still recognised.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping

from monitor.articles.promo import is_promo_sentence, preview

MIN_TOKENS = 5
"""Paragraphs (or glued segments) with fewer word tokens are never fingerprinted."""

_TOKEN = re.compile(r"\w+")
# end of a sentence directly followed by a letter, with no space: "difference.Two". Two letters
# before the mark keep abbreviations such as "U.S.Army" whole.
_GLUE = re.compile(r"(?<=[^\W\d_]{2})[.!?][\"”’»)]?(?=[^\W\d_][^\W\d_])")


def normalise(text: str) -> str:
    """Case-folded word tokens of ``text`` joined by single spaces (NFKC first)."""
    return " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()))


def fingerprint(text: str) -> str | None:
    """Stable hash of a normalised text block, or None when the block is too short."""
    norm = normalise(text)
    if norm.count(" ") + 1 < MIN_TOKENS:
        return None
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest()


def split_glued(paragraph: str) -> list[str]:
    """Split a paragraph where a sentence end is glued to the next sentence's capital letter."""
    parts: list[str] = []
    start = 0
    for match in _GLUE.finditer(paragraph):
        if paragraph[match.end()].isupper():
            parts.append(paragraph[start : match.end()].strip())
            start = match.end()
    parts.append(paragraph[start:].strip())
    return [p for p in parts if p]


def paragraph_fingerprints(text: str) -> list[str]:
    """Distinct fingerprints of the paragraphs of ``text`` (one paragraph per line), in order.

    A paragraph made of glued segments yields one fingerprint per long-enough segment.
    Each fingerprint appears once, so a caller can count distinct articles per fingerprint.
    """
    seen: dict[str, None] = {}
    for line in text.splitlines():
        for segment in split_glued(line):
            fp = fingerprint(segment)
            if fp is not None:
                seen.setdefault(fp, None)
    return list(seen)


def learned_boilerplate(counts: Mapping[str, int], min_articles: int = 3) -> frozenset[str]:
    """Fingerprints seen in at least ``min_articles`` distinct articles of one host."""
    return frozenset(fp for fp, n in counts.items() if n >= min_articles)


def drop_boilerplate(text: str, boilerplate: frozenset[str]) -> tuple[str, list[str]]:
    """Remove learned paragraphs and glued-on appeals from ``text``.

    A paragraph goes when its fingerprint is in ``boilerplate``. In a paragraph of glued
    segments, each segment goes when its fingerprint is learned or, at the paragraph's start
    or end, when it is a reader appeal (:func:`~monitor.articles.promo.is_promo_sentence`).
    Blank lines go too. Returns the cleaned text and previews of what was removed.
    """
    kept: list[str] = []
    removed: list[str] = []

    def learned(block: str) -> bool:
        return bool(boilerplate) and fingerprint(block) in boilerplate

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        segments = split_glued(line)
        if len(segments) <= 1:
            if learned(line):
                removed.append("learned: " + preview(line))
            else:
                kept.append(line)
            continue
        known = [learned(s) for s in segments]
        appeal = [known[i] or is_promo_sentence(s) for i, s in enumerate(segments)]
        start, end = 0, len(segments)
        while start < end and appeal[start]:
            start += 1
        while end > start and appeal[end - 1]:
            end -= 1
        survivors = []
        for i, segment in enumerate(segments):
            if known[i]:
                removed.append("learned: " + preview(segment))
            elif not start <= i < end:
                removed.append("appeal: " + preview(segment))
            else:
                survivors.append(segment)
        if len(survivors) == len(segments):
            kept.append(line)
        elif survivors:
            kept.append(" ".join(survivors))
    return "\n".join(kept), removed
