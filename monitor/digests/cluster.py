"""Near-duplicate stories: the same wire story carried by several outlets (pure).

Two articles are near-duplicates when the Jaccard similarity of their word shingles (three
consecutive words of the normalised text) reaches ``THRESHOLD``. MinHash signatures in an LSH
index (datasketch) find the candidate pairs without comparing every pair; each candidate is
then checked against the exact shingle sets, so the LSH only costs recall at the margin, never
precision. Clusters are the connected components of the near-duplicate pairs.

The body is compared when it has enough words (``MIN_TEXT_TOKENS``); a short summary is
compared together with its title, since outlets retitle wire copy more than they rewrite it.
Two guards keep templated items apart (measured on the 2023 world-news corpus): stories
compared by title and summary need ``SHORT_THRESHOLD`` ("Australia v Portugal live: score
and updates" is not "South Africa v Tonga live: score and updates"), and below ``SURE`` the
titles must share some words (``TITLE_OVERLAP``), so two stories whose text is the same stock
photo caption stay apart while a retitled wire copy still merges.

``TitleIndex`` answers whether a title is a near-copy of one already sent (the store keeps
the titles of sent stories, not their texts): unigram Jaccard ≥ ``TITLE_THRESHOLD`` on titles
of at least ``MIN_TITLE_TOKENS`` words, so "Live updates" never hides tomorrow's live blog.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasketch import MinHash  # type: ignore[import-untyped]


THRESHOLD = 0.5
SHORT_THRESHOLD = 0.7
SURE = 0.9
TITLE_OVERLAP = 0.1
TITLE_THRESHOLD = 0.8
SHINGLE_WORDS = 3
MIN_TEXT_TOKENS = 15
MIN_TITLE_TOKENS = 6
MAX_TOKENS = 400  # the opening of a long article is enough to recognise it
NUM_PERM = 128

_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """Lower-case words of ``text`` (NFKC, case-folded; punctuation separates words)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold().replace("_", " "))


@dataclass(frozen=True)
class _Story:
    shingles: frozenset[str]
    title_words: frozenset[str]
    short: bool  # compared by title and summary, not by body


def _story(title: str, text: str) -> _Story:
    body = tokens(text)
    short = len(body) < MIN_TEXT_TOKENS
    words = ((tokens(title) + body) if short else body)[:MAX_TOKENS]
    if len(words) < SHINGLE_WORDS:
        grams = frozenset(words)
    else:
        grams = frozenset(
            " ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)
        )
    return _Story(grams, frozenset(w for w in tokens(title) if len(w) >= 3), short)


def shingles(title: str, text: str) -> frozenset[str]:
    """The word shingles that stand for a story: its body, or title and body when short."""
    return _story(title, text).shingles


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _datasketch() -> Any:
    """datasketch, imported on first use: it pulls in numpy and scipy (~0.6 s), which
    commands that never build a digest (e.g. ``monitor healthcheck``) should not pay."""
    import datasketch

    return datasketch


@cache
def _first_minhash() -> MinHash:
    """A MinHash whose permutations all others share (drawing them anew costs more than
    hashing a story)."""
    return _datasketch().MinHash(num_perm=NUM_PERM, seed=1)


def _minhash(items: Iterable[str]) -> MinHash:
    first = _first_minhash()
    m = _datasketch().MinHash(
        num_perm=NUM_PERM, seed=1, permutations=first.permutations, scheme=first.scheme
    )
    m.update_batch([s.encode("utf-8") for s in items])
    return m


def _same_story(a: _Story, b: _Story, threshold: float = THRESHOLD) -> bool:
    """Whether two stories are near-duplicates (see the module docstring for the rules)."""
    similarity = jaccard(a.shingles, b.shingles)
    if similarity < (max(threshold, SHORT_THRESHOLD) if a.short and b.short else threshold):
        return False
    if similarity >= SURE or not a.title_words or not b.title_words:
        return True
    return jaccard(a.title_words, b.title_words) >= TITLE_OVERLAP


def _similar_pairs(stories: Sequence[_Story], threshold: float) -> Iterable[tuple[int, int]]:
    """Index pairs (j < i) of near-duplicate stories, candidates found through MinHash LSH."""
    lsh = _datasketch().MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    for i, story in enumerate(stories):
        if not story.shingles:
            continue
        signature = _minhash(story.shingles)
        for j in sorted(lsh.query(signature)):
            if _same_story(story, stories[j], threshold):
                yield j, i
        lsh.insert(i, signature)


def near_duplicate_groups(
    stories: Sequence[tuple[str, str]],
    same: Sequence[str] | None = None,
    threshold: float = THRESHOLD,
) -> list[list[int]]:
    """Partition ``stories`` (title, text) into clusters of near-duplicates.

    Stories with equal ``same`` keys (e.g. content hashes) always share a cluster. Returns
    lists of indexes into ``stories``, each sorted, ordered by their first index; every index
    appears exactly once (a story without duplicates is a cluster of one).
    """
    parent = list(range(len(stories)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    for i, j in _similar_pairs([_story(t, x) for t, x in stories], threshold):
        union(i, j)
    first: dict[str, int] = {}
    for i, key in enumerate(same or ()):
        union(first.setdefault(key, i), i)
    clusters: dict[int, list[int]] = {}
    for i in range(len(stories)):
        clusters.setdefault(root(i), []).append(i)
    return sorted(clusters.values())


class TitleIndex:
    """Titles of stories already sent; ``contains`` finds a near-copy of a new title.

    The first look-ups compare the title with every sent one (exact, and cheaper than
    hashing them all when a run has a story or two, as immediate digests do); once they
    have made ``LINEAR_BUDGET`` comparisons, a MinHash LSH index over the sent titles takes
    over (its candidates are still checked exactly, but it may miss a rare near-copy).
    """

    LINEAR_BUDGET = 200_000

    def __init__(self, titles: Iterable[str], threshold: float = TITLE_THRESHOLD) -> None:
        self._threshold = threshold
        self._sets = [words for words in map(self._words, titles) if words]
        self._lsh: Any = None
        self._compared = 0

    @staticmethod
    @lru_cache(maxsize=1 << 16)  # the same sent titles come back on every run
    def _words(title: str) -> frozenset[str]:
        words = tokens(title)
        return frozenset(words) if len(words) >= MIN_TITLE_TOKENS else frozenset()

    def _index(self) -> Any:
        if self._lsh is None:
            self._lsh = _datasketch().MinHashLSH(threshold=self._threshold, num_perm=NUM_PERM)
            for i, words in enumerate(self._sets):
                self._lsh.insert(i, _minhash(words))
        return self._lsh

    def contains(self, title: str) -> bool:
        """Whether ``title`` is a near-copy of a title in the index."""
        words = self._words(title)
        if not words or not self._sets:
            return False
        if self._lsh is None and self._compared < self.LINEAR_BUDGET:
            self._compared += len(self._sets)
            return any(jaccard(words, sent) >= self._threshold for sent in self._sets)
        return any(
            jaccard(words, self._sets[i]) >= self._threshold
            for i in self._index().query(_minhash(words))
        )
