"""Per-host learned boilerplate: fingerprints, glued sentences, the learning threshold."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from monitor.articles.boilerplate import (
    drop_boilerplate,
    fingerprint,
    learned_boilerplate,
    paragraph_fingerprints,
    split_glued,
)

APPEAL = "Your donation allows us to keep sending journalists to speak to both sides."


def test_fingerprint_ignores_case_punctuation_and_spacing() -> None:
    assert fingerprint(APPEAL) == fingerprint("  your DONATION allows us to keep sending "
                                              "journalists, to speak to both sides ")  # fmt: skip
    assert fingerprint(APPEAL) != fingerprint(APPEAL.replace("both", "all"))


def test_fingerprint_is_stable_across_runs() -> None:
    # stored in the database: the value must never depend on the process (no hash())
    normalised = b"sign up to our free morning headlines email"
    expected = hashlib.blake2b(normalised, digest_size=8).hexdigest()
    assert fingerprint("Sign up to our free morning-headlines e-mail!") != expected
    assert fingerprint("Sign up to our FREE morning headlines   email!") == expected


def test_short_blocks_have_no_fingerprint() -> None:
    assert fingerprint("Read more") is None
    assert fingerprint("Advertisement") is None
    assert paragraph_fingerprints("Share\nRead more\nLive updates") == []


@pytest.mark.parametrize(
    ("paragraph", "parts"),
    [
        (
            "Your support makes all the difference.Two senior officials visited.",
            ["Your support makes all the difference.", "Two senior officials visited."],
        ),
        ("He said “no.”Then he left.", ["He said “no.”", "Then he left."]),
        (
            "The U.S.Army said so. It was 3.5 miles away.",
            ["The U.S.Army said so. It was 3.5 miles away."],
        ),
        ("A normal sentence. Another one.", ["A normal sentence. Another one."]),
        ("see example.com for details", ["see example.com for details"]),
        ("", []),
    ],
)
def test_split_glued(paragraph: str, parts: list[str]) -> None:
    assert split_glued(paragraph) == parts


def test_paragraph_fingerprints_cover_glued_segments_once() -> None:
    text = (
        "Your support makes all the difference of the world."
        "Council officers filled sandbags all weekend.\n"
        f"{APPEAL}\n{APPEAL}\n"
    )
    fps = paragraph_fingerprints(text)
    assert fps == [
        fingerprint("Your support makes all the difference of the world."),
        fingerprint("Council officers filled sandbags all weekend."),
        fingerprint(APPEAL),
    ]


def test_learned_boilerplate_needs_min_articles() -> None:
    counts = Counter({"a": 3, "b": 2, "c": 7})
    assert learned_boilerplate(counts) == frozenset({"a", "c"})
    assert learned_boilerplate(counts, min_articles=5) == frozenset({"c"})
    assert learned_boilerplate({}) == frozenset()


def test_drop_boilerplate_removes_learned_paragraphs_and_reports_them() -> None:
    story = "Two senior officials from the group visited the capital on Wednesday."
    learned = frozenset(paragraph_fingerprints(APPEAL))
    text, removed = drop_boilerplate(f"{APPEAL}\n\n  {story}  \n", learned)
    assert text == story
    assert removed == ["learned: " + APPEAL]


def test_drop_boilerplate_cuts_a_learned_sentence_glued_to_the_story() -> None:
    glued = "Thanks for reading our independent journalism today.Two senior officials visited."
    learned = frozenset(
        {"x", str(fingerprint("Thanks for reading our independent journalism today."))}
    )
    text, removed = drop_boilerplate(glued, learned)
    assert text == "Two senior officials visited."
    assert removed == ["learned: Thanks for reading our independent journalism today."]


def test_drop_boilerplate_cuts_glued_appeals_at_paragraph_edges_only() -> None:
    text, removed = drop_boilerplate(
        "Your support makes all the difference.Two senior officials visited Damascus.\n"
        "Officials said the visit went well.Sign up for our newsletter.\n"
        "Aid groups asked people to donate blood.The clinic stayed open.\n"
        "Talks began.Subscribe now to read on.The talks ended.",
        frozenset(),
    )
    assert text.splitlines() == [
        "Two senior officials visited Damascus.",
        "Officials said the visit went well.",
        "Aid groups asked people to donate blood.The clinic stayed open.",
        "Talks began.Subscribe now to read on.The talks ended.",
    ]
    assert removed == [
        "appeal: Your support makes all the difference.",
        "appeal: Sign up for our newsletter.",
    ]


def test_drop_boilerplate_keeps_everything_when_nothing_is_learned() -> None:
    text = "First paragraph of the story here.\nSecond paragraph of the story here."
    assert drop_boilerplate(text, frozenset()) == (text, [])
