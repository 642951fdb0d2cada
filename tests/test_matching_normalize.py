"""``normalize`` agrees with its plain reading (NFKC, case folding, then one table look-up per
character) on mostly-ASCII text, where it folds the non-ASCII runs apart and the rest as
bytes, and on text of any script."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.matching.text import _ASCII, _TABLE, normalize


def reference(text: str) -> str:
    if text.isascii():
        return text.lower().translate(_ASCII)
    return unicodedata.normalize("NFKC", text).casefold().translate(_TABLE)


ANY_CHAR = st.characters(codec=None, exclude_categories=())  # surrogates included
ODD = ["é", "Ḥ", "ﬁ", "ǅ", "ß", "İ", "\u0301", "\xa0", "’", "£", "حَ", "٣", "\u200d", "\ud800"]


@st.composite
def mostly_ascii(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.text("abcXYZ019 ,.-'\n", max_size=12), max_size=20))
    odd = draw(st.lists(st.one_of(st.sampled_from(ODD), ANY_CHAR), min_size=1, max_size=3))
    pieces = words + odd
    order = draw(st.permutations(range(len(pieces))))
    return "".join(pieces[i] for i in order)


@settings(max_examples=400, deadline=None)
@given(mostly_ascii())
def test_mostly_ascii_text_normalizes_as_one_look_up_per_character(text: str) -> None:
    assert normalize(text) == reference(text)


@settings(max_examples=400, deadline=None)
@given(st.text(ANY_CHAR, max_size=60))
def test_any_text_normalizes_as_one_look_up_per_character(text: str) -> None:
    assert normalize(text) == reference(text)


def test_both_roads_are_taken() -> None:
    assert normalize("The Café “Ḥamās” ﬁle") == "the cafe  hamas  file"
    assert normalize("حَمَاس وَ Al-Hayeh") == "حماس و al hayeh"
