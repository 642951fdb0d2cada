"""The compiled matcher on real text: rule options, evidence, snippets, the seed article."""

from __future__ import annotations

import json

import pytest

from monitor.config.schema import Config, Digest, Rule
from monitor.matching.index import RuleIndex
from monitor.model import Document, Match
from tests.conftest import SEED

ENTITIES = {
    "hamas": ["Hamas", "حماس"],
    "syria": ["Syria", "Damascus", "سوريا"],
    "hezbollah": ["Hezbollah", "Hizbollah"],
}


def seed() -> Document:
    title, _, text = SEED.read_text(encoding="utf-8").partition("\n")
    return Document(title=title, text=text, feed="independent", tags=("middle-east",))


def highlighted(match: Match) -> list[str]:
    return [s.text[a:b] for s in match.snippets for a, b in s.highlights]


def test_seed_article_matches_hamas_damascus_with_both_words_highlighted() -> None:
    index = RuleIndex.compile([Rule(name="hamas-damascus", query="hamas AND damascus")], {})
    (match,) = index.match(seed())
    assert match.rule == "hamas-damascus"
    assert match.terms == ("hamas", "damascus")
    assert 1 <= len(match.snippets) <= 3
    first = match.snippets[0]
    marked = {first.text[a:b].lower() for a, b in first.highlights}
    assert marked == {"hamas", "damascus"}
    words = len(first.text.split())
    assert 25 <= words <= 36  # about thirty words, plus the … marks
    assert all(s.field == "text" for s in match.snippets)


def test_hits_point_at_the_tokens_in_each_field() -> None:
    index = RuleIndex.compile([Rule(name="r", query="hamas damascus")], {})
    doc = seed()
    (match,) = index.match(doc)
    title_hits = [(h.term, h.start, h.end) for h in match.hits if h.field == "title"]
    # "Militant Hamas group back in Damascus after years of tension"
    assert title_hits == [("hamas", 1, 2), ("damascus", 5, 6)]


def test_hits_are_capped_per_term() -> None:
    index = RuleIndex.compile([Rule(name="r", query="hamas")], {})
    (match,) = index.match(Document("", "Hamas said. " * 40))
    assert [(h.start, h.end) for h in match.hits] == [(i * 2, i * 2 + 1) for i in range(25)]


def test_title_only_evidence_gives_a_title_snippet() -> None:
    index = RuleIndex.compile([Rule(name="r", query="title:tension hamas")], {})
    (match,) = index.match(seed())
    title_snippets = [s for s in match.snippets if s.field == "title"]
    assert [s.text for s in title_snippets] == [
        "Militant Hamas group back in Damascus after years of tension"
    ]
    assert [title_snippets[0].text[a:b] for a, b in title_snippets[0].highlights] == [
        "Hamas",
        "tension",
    ]


def test_snippets_show_every_term_when_they_are_far_apart() -> None:
    words = [f"w{i}" for i in range(300)]
    words[10], words[150], words[290] = "alpha", "beta", "gamma"
    index = RuleIndex.compile([Rule(name="r", query="alpha beta gamma")], {})
    (match,) = index.match(Document("", " ".join(words)))
    assert len(match.snippets) == 3
    assert highlighted(match) == ["alpha", "beta", "gamma"]
    assert match.snippets[1].text.startswith("… ")
    assert match.snippets[1].text.endswith(" …")


def test_snippet_highlights_survive_whitespace_and_accents() -> None:
    text = "Les   responsables du Ḥamās\n\nsont arrivés à\tDamas   hier."
    index = RuleIndex.compile([Rule(name="r", query="hamas NEAR/5 damas")], {})
    (match,) = index.match(Document("", text))
    (snippet,) = match.snippets
    assert snippet.text == "Les responsables du Ḥamās sont arrivés à Damas hier."
    assert highlighted(match) == ["Ḥamās", "Damas"]


def test_arabic_snippet_highlights_whole_words() -> None:
    index = RuleIndex.compile([Rule(name="r", query="@hamas @syria")], ENTITIES)
    (match,) = index.match(Document("", "وصل وفد من حَمَاسٌ إلى سُورِيَا أمس"))
    assert highlighted(match) == ["حَمَاسٌ", "سُورِيَا"]


@pytest.mark.parametrize(
    ("sources", "feed", "tags", "expected"),
    [
        ((), "anything", (), True),
        (("independent",), "independent", (), True),
        (("middle-east",), "independent", ("world", "middle-east"), True),
        (("bbc",), "independent", ("middle-east",), False),
    ],
)
def test_sources_are_feed_names_or_tags(
    sources: tuple[str, ...], feed: str, tags: tuple[str, ...], expected: bool
) -> None:
    index = RuleIndex.compile([Rule(name="r", query="hamas", sources=sources)], {})
    assert bool(index.match(Document("", "Hamas", feed=feed, tags=tags))) is expected


@pytest.mark.parametrize(
    ("languages", "language", "expected"),
    [
        ((), None, True),
        ((), "ar", True),
        (("en",), "en", True),
        (("en",), "EN-gb", True),
        (("en-GB",), "en-gb", True),
        (("en-GB",), "en-US", False),
        (("ar", "fr"), "en", False),
        (("en",), None, False),  # unknown language: only rules without a language filter
    ],
)
def test_languages(languages: tuple[str, ...], language: str | None, expected: bool) -> None:
    index = RuleIndex.compile([Rule(name="r", query="hamas", languages=languages)], {})
    assert bool(index.match(Document("", "Hamas", language=language))) is expected


def test_options_travel_with_the_match_and_disabled_rules_never_match() -> None:
    config = Config(
        entities={"hamas": ("Hamas",)},
        rules=(
            Rule(name="a", query="@hamas", notify=("daily",), priority=5, group="mideast"),
            Rule(name="b", query="hamas", notify=("daily", "urgent")),
            Rule(name="c", query="hamas", enabled=False),
        ),
        digests=(
            Digest(name="daily", schedule="0 7 * * *", channels=("files",)),
            Digest(name="urgent", immediate=True, channels=("files",)),
        ),
    )
    index = RuleIndex.from_config(config)
    assert [r.name for r in index.rules] == ["a", "b"]
    a, b = index.match(Document("", "Hamas"))
    assert (a.rule, a.notify, a.priority, a.group, a.immediate) == (
        "a",
        ("daily",),
        5,
        "mideast",
        False,
    )
    assert (b.rule, b.immediate) == ("b", True)


def test_match_round_trips_through_json() -> None:
    index = RuleIndex.compile([Rule(name="r", query='hamas "Al-Hayeh"', notify=("d",))], {})
    (match,) = index.match(seed())
    data = json.loads(json.dumps(match.to_json()))
    assert Match.from_json(data) == match
    assert data["terms"] == ["hamas", '"Al-Hayeh"']


def test_only_rules_whose_terms_are_present_are_evaluated() -> None:
    rules = [Rule(name=f"r{i}", query=f"word{i} AND other{i}") for i in range(1000)]
    rules.append(Rule(name="phrase", query='"axis of resistance" NOT gaza'))
    index = RuleIndex.compile(rules, {})
    doc = Document("", "word7 and other7 joined the axis of resistance; word8 did not")
    assert [c.rule.name for c in index.candidates(doc)] == ["r7", "phrase"]
    assert [m.rule for m in index.match(doc)] == ["r7", "phrase"]


def test_a_compiled_index_survives_pickling_into_another_process() -> None:
    import pickle
    import subprocess
    import sys

    index = RuleIndex.compile([Rule(name="r", query='@hamas NEAR/5 "re-establishing"')], ENTITIES)
    program = (
        "import pickle, sys\n"
        "from monitor.model import Document\n"
        "index = pickle.loads(sys.stdin.buffer.read())\n"
        "from monitor.matching.nodes import Term\n"
        "fresh = Term(('re', 'establishing'))\n"  # equal leaves built here must hash alike
        "print(fresh in index.compiled[0].order)\n"
        "print([m.rule for m in index.match(Document('', \"Hamas' re-establishing\"))])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        input=pickle.dumps(index),
        capture_output=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    )
    assert done.stdout.decode().split("\n")[:2] == ["True", "['r']"]


def test_what_an_index_matched_before_does_not_change_what_it_matches() -> None:
    rules = [
        Rule(name="vote", query="elect* NEAR/3 vote*"),
        Rule(name="pair", query="hamas damascus"),
        Rule(name="talks", query='(syria OR iran) "peace talks" -ceasefire'),
        Rule(name="one", query="election*"),
    ]
    docs = [
        seed(),
        Document("Elections", "Voters elected a council; the vote was close."),
        Document("", "Iran and Syria held peace talks. Elections next."),
        Document("Peace talks", "Syria: a ceasefire ends the peace talks in Damascus with Hamas."),
    ]
    warm = RuleIndex.compile(rules, ENTITIES)
    seen = [warm.match(doc) for doc in docs + docs[::-1]]
    fresh = [RuleIndex.compile(rules, ENTITIES).match(doc) for doc in docs + docs[::-1]]
    assert seen == fresh
    assert [[m.rule for m in found] for found in seen[:4]] == [
        ["pair"],
        ["vote", "one"],
        ["talks", "one"],
        ["pair"],
    ]
