"""Text normalisation and tokens: the one road both rules and articles take.

``normalize`` applies NFKC, case folding, removes Latin diacritics (``Ḥamās`` → ``hamas``),
Arabic diacritics and tatweel, Hebrew points and invisible joiners, unifies the Arabic alef
forms, maps Arabic-Indic digits to ASCII, and turns every character that is not a letter, a
digit or a combining mark of a word (as in Hindi) into a space, all in one ``str.translate``.
Tokens are then the space-separated runs: apostrophes and hyphens separate tokens
(``al-Hayeh`` → ``al``, ``hayeh``).

``FieldText`` holds one field (title or text) of an article: its tokens, and on demand the
positions of each token and the character span of every token in the *original* text, which
the snippets need for highlighting."""

from __future__ import annotations

import itertools
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache

_LATIN_RANGES = (range(0x00C0, 0x0250), range(0x1E00, 0x1F00), range(0x2C60, 0x2C80))
_LATIN_EXTRA = {"ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ł": "l", "ŧ": "t", "ƀ": "b"}
_COMBINING = (
    (0x0300, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
_ARABIC_MARKS = (
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x0640, 0x0640),
)
_HEBREW_POINTS = (
    (0x0591, 0x05BD),
    (0x05BF, 0x05BF),
    (0x05C1, 0x05C2),
    (0x05C4, 0x05C5),
    (0x05C7, 0x05C7),
)
_ALEF_FORMS = (0x0622, 0x0623, 0x0625, 0x0671, 0x0672, 0x0673)  # fmt: skip


_INVISIBLE = ((0x00AD, 0x00AD), (0x200C, 0x200D), (0x2060, 0x2060), (0xFEFF, 0xFEFF),
              (0xFE00, 0xFE0F), (0xE0000, 0xE007F), (0xE0100, 0xE01EF))  # fmt: skip


def _token_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch)[0] == "M"


def _build_table() -> dict[int, str | None]:
    """One ``str.translate`` table: fold letters, drop marks, and every separator → space."""
    table: dict[int, str | None] = {}
    for cp in range(0x20000):
        if not _token_char(chr(cp)):
            table[cp] = " "
    for cp in itertools.chain(*_LATIN_RANGES):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if base and base != ch:
            table[cp] = base.casefold()
    for ch, base in _LATIN_EXTRA.items():
        table[ord(ch)] = base
    for lo, hi in (*_COMBINING, *_ARABIC_MARKS, *_HEBREW_POINTS, *_INVISIBLE):
        for cp in range(lo, hi + 1):
            table[cp] = None
    for cp in _ALEF_FORMS:
        table[cp] = "\u0627"
    for zero in (0x0660, 0x06F0):
        for d in range(10):
            table[zero + d] = str(d)
    return table


_TABLE = _build_table()
_ASCII = {cp: out for cp, out in _TABLE.items() if cp < 0x80}
# The ASCII part of the table for UTF-8 bytes (whose multi-byte sequences it leaves alone).
_ASCII_BYTES = "".join(map(chr, range(0x80))).translate(_ASCII).encode() + bytes(range(0x80, 0x100))
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _fold_run(run: re.Match[str]) -> str:
    return run.group().translate(_TABLE)


def normalize(text: str) -> str:
    """Normalise ``text`` for matching (see the module docstring); every separator becomes a
    space, so lengths may change only where characters fold or drop."""
    if text.isascii():
        return text.lower().translate(_ASCII)
    folded = unicodedata.normalize("NFKC", text).casefold()
    encoded = folded.encode("utf-8", "surrogatepass")
    if len(encoded) - len(folded) > len(folded) >> 4:  # much non-ASCII: one table look-up each
        return folded.translate(_TABLE)
    # Mostly ASCII: ``str.translate`` looks every character up in the table one by one, so
    # fold the few non-ASCII runs that way (their output is ASCII-stable) and the rest as bytes.
    folded = _NON_ASCII.sub(_fold_run, folded)
    return folded.encode("utf-8").translate(_ASCII_BYTES).decode("utf-8")


def tokenize(normalized: str) -> list[str]:
    """The tokens of already normalised text, in order."""
    return normalized.split()


def terms_of(text: str) -> list[str]:
    """Normalise and tokenise in one step (used for query terms and entity aliases)."""
    return normalize(text).split()


@cache
def _piece(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).casefold().translate(_TABLE)


def _spans_in(normalized: str) -> list[tuple[int, int]]:
    """Character spans of the tokens of ``normalized`` (separators are single spaces)."""
    spans = []
    pos = 0
    for piece in normalized.split(" "):
        if piece:
            end = pos + len(piece)
            spans.append((pos, end))
            pos = end + 1
        else:
            pos += 1
    return spans


def _token_spans(original: str, normalized: str) -> list[tuple[int, int]]:
    """Character spans of the tokens of ``normalized``, located in ``original``."""
    spans = _spans_in(normalized)
    if original.isascii():
        return spans
    at_orig: list[int] = []  # original index of each character whose piece is not 1 long
    at_norm: list[int] = []  # where that piece starts in the normalised text
    lengths: list[int] = []
    delta = 0
    for run in _NON_ASCII.finditer(original):
        for i in range(run.start(), run.end()):
            size = len(_piece(original[i]))
            if size != 1:
                at_orig.append(i)
                at_norm.append(i + delta)
                lengths.append(size)
                delta += size - 1
    if len(original) + delta != len(normalized):
        # NFKC composed across characters somewhere; locate in the per-character version.
        normalized = "".join(_piece(c) for c in original)
        spans = _spans_in(normalized)
    if not at_orig:
        return spans

    def to_orig(x: int) -> int:
        k = bisect_right(at_norm, x) - 1
        if k < 0:
            return x
        if x < at_norm[k] + lengths[k]:
            return at_orig[k]
        return at_orig[k] + 1 + (x - at_norm[k] - lengths[k])

    size = len(normalized)
    # A token's end takes in the diacritics removed right after it (Arabic case endings).
    return [
        (to_orig(s), max(to_orig(e - 1) + 1, to_orig(e) if e < size else len(original)))
        for s, e in spans
    ]


@dataclass(slots=True)
class FieldText:
    """One field of a document: original text, tokens, and lazily their positions and spans."""

    name: str
    original: str
    normalized: str
    tokens: list[str]
    _positions: dict[str, list[int]] | None = None
    _spans: list[tuple[int, int]] | None = None
    _sorted: list[str] | None = None

    @classmethod
    def of(cls, name: str, text: str) -> FieldText:
        normalized = normalize(text)
        return cls(name, text, normalized, tokenize(normalized))

    def positions(self) -> dict[str, list[int]]:
        """Token → its indexes in this field, ascending."""
        if self._positions is None:
            pos: dict[str, list[int]] = {}
            for i, tok in enumerate(self.tokens):
                lst = pos.get(tok)
                if lst is None:
                    pos[tok] = [i]
                else:
                    lst.append(i)
            self._positions = pos
        return self._positions

    def sorted_vocabulary(self) -> list[str]:
        """The distinct tokens of this field, sorted (for prefix look-ups)."""
        if self._sorted is None:
            self._sorted = sorted(self.positions())
        return self._sorted

    def spans(self) -> list[tuple[int, int]]:
        """Character span of each token in the original text (for snippets)."""
        if self._spans is None:
            spans = _token_spans(self.original, self.normalized)
            if len(spans) < len(self.tokens):  # cannot happen short of a Unicode oddity
                end = len(self.original)
                spans += [(end, end)] * (len(self.tokens) - len(spans))
            self._spans = spans
        return self._spans


FIELDS = ("title", "text")


@dataclass(slots=True)
class Analysis:
    """A document split into its two fields, ready for matching."""

    title: FieldText
    text: FieldText

    @classmethod
    def of(cls, title: str, text: str) -> Analysis:
        return cls(FieldText.of("title", title), FieldText.of("text", text))

    def field(self, name: str) -> FieldText:
        return self.title if name == "title" else self.text

    def vocabulary(self) -> set[str]:
        """Every distinct token of both fields."""
        vocab = set(self.text.tokens)
        vocab.update(self.title.tokens)
        return vocab
