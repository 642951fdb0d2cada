"""Novelty rules: a tracked actor near the anchor for the first time in the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.config.schema import Novelty, Rule
from monitor.matching.index import RuleIndex
from monitor.matching.novelty import Sighting, decide, novelty_keys
from monitor.model import Document, Match
from tests.conftest import SEED

ENTITIES = {
    "hamas": ["Hamas", "حماس"],
    "hezbollah": ["Hezbollah", "Hizbollah"],
    "houthis": ["Houthis", "Ansar Allah"],
}
AXIS = Rule(
    name="axis-new-alignments",
    query='"axis of resistance"',
    notify=("urgent",),
    novelty=Novelty(
        track=("hamas", "hezbollah", "houthis"), within=30, unseen_for=timedelta(days=90)
    ),
)
T0 = datetime(2022, 10, 19, 12, 0, tzinfo=UTC)


def seed() -> Document:
    title, _, text = SEED.read_text(encoding="utf-8").partition("\n")
    return Document(title=title, text=text)


def test_seed_fires_on_first_sight_naming_hamas_and_not_on_the_second_article() -> None:
    index = RuleIndex.compile([AXIS], ENTITIES)
    history: dict[tuple[str, str], datetime] = {}

    first = index.match(seed())
    assert [(m.rule, m.actors) for m in first] == [("axis-new-alignments", ("hamas",))]
    assert novelty_keys(first) == [("axis-new-alignments", "hamas")]
    decision = index.decide_novelty(first, history, T0)
    (match,) = decision.matches
    assert match.novel_actors == ("hamas",)
    assert match.terms == ('"axis of resistance"', "@hamas")
    marked = {s.text[a:b] for s in match.snippets for a, b in s.highlights}
    assert marked == {"Hamas", "axis of resistance"}
    assert decision.sightings == (Sighting("axis-new-alignments", "hamas", T0),)

    # the store keeps the sightings; a second article saying the same thing a day later
    history.update({(s.rule, s.actor): s.seen_at for s in decision.sightings})
    second = Document(
        "Hamas returns to Syria",
        "Analysts say Hamas is rejoining the Iran-led axis of resistance after a decade.",
    )
    later = index.decide_novelty(index.match(second), history, T0 + timedelta(days=1))
    assert later.matches == ()
    assert later.sightings == (Sighting("axis-new-alignments", "hamas", T0 + timedelta(days=1)),)


def test_window_is_counted_in_tokens_and_the_actor_must_be_tracked() -> None:
    index = RuleIndex.compile([AXIS], ENTITIES)
    filler = " ".join(["word"] * 30)
    near = Document("", f"Hezbollah {filler} axis of resistance")  # 30 tokens between
    far = Document("", f"Hezbollah {filler} more axis of resistance")  # 31 between
    untracked = Document("", "Iran leads the axis of resistance")
    assert [m.actors for m in index.match(near)] == [("hezbollah",)]
    assert index.match(far) == []
    assert index.match(untracked) == []


def test_an_actor_unseen_for_the_period_is_new_again() -> None:
    index = RuleIndex.compile([AXIS], ENTITIES)
    doc = Document("", "The Houthis and Hezbollah hailed the axis of resistance.")
    matches = index.match(doc)
    history = {
        ("axis-new-alignments", "houthis"): T0 - timedelta(days=90),
        ("axis-new-alignments", "hezbollah"): T0 - timedelta(days=89),
    }
    (match,) = index.decide_novelty(matches, history, T0).matches
    assert match.actors == ("hezbollah", "houthis")  # in the order of `track`
    assert match.novel_actors == ("houthis",)


def test_decide_passes_other_rules_through() -> None:
    plain = Match(rule="plain", terms=("x",), hits=(), snippets=())
    decision = decide([plain], {}, T0, {"novel": timedelta(days=90)})
    assert decision.matches == (plain,)
    assert decision.sightings == ()
