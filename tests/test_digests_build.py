"""Building a digest: grouping, order, time zone, one entry per story, sent stories, caps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config.schema import Rule
from monitor.digests import build_digest
from monitor.store.records import SentItem
from tests.conftest import DATA
from tests.digestkit import NOW, digest, entry

WIRE = (
    "BEIRUT (AP) — A Hamas delegation arrived in Damascus on Wednesday for the first official "
    "visit in a decade, ending years of estrangement with the Syrian government of President "
    "Bashar Assad, officials from both sides said. The delegation, led by senior official Khalil "
    "al-Hayeh, met Assad and discussed ways to restore relations that broke down in 2012."
)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2023, 10, 9, hour, minute, tzinfo=UTC)


def test_groups_by_rule_or_its_group_newest_first() -> None:
    entries = [
        entry(1, "Old Syria story", "a", rule="syria-a", published=at(8)),
        entry(2, "New Syria story", "b", rule="syria-b", published=at(12)),
        entry(3, "Lebanon story", "c", rule="lebanon", published=at(10)),
        entry(4, "Mid Syria story", "d", rule="syria-a", published=at(11)),
    ]
    rules = [
        Rule(name="syria-a", query="x", group="Syria"),
        Rule(name="syria-b", query="x", group="Syria"),
        Rule(name="lebanon", query="x"),
    ]
    built = build_digest(digest(), entries, now=NOW, rules=rules)

    assert [(g.name, [s.title for s in g.stories]) for g in built.groups] == [
        ("Syria", ["New Syria story", "Mid Syria story", "Old Syria story"]),
        ("lebanon", ["Lebanon story"]),
    ]
    assert built.send
    assert built.more == 0
    assert built.queue_ids == (10, 20, 30, 40)


def test_priority_comes_before_recency_and_config_overrides_old_evidence() -> None:
    entries = [
        entry(1, "Fresh but minor", "a", rule="minor", published=at(12)),
        entry(
            2,
            "Older but urgent",
            "b",
            rule="urgent",
            published=at(6),
            evidence_extra={"priority": 0, "group": "stale-group"},
        ),
        entry(
            3,
            "Evidence only",
            "c",
            rule="gone",
            published=at(13),
            evidence_extra={"priority": 5, "group": "Remembered"},
        ),
    ]
    rules = [Rule(name="urgent", query="x", priority=10), Rule(name="minor", query="x")]
    built = build_digest(digest(), entries, now=NOW, rules=rules)
    assert [g.name for g in built.groups] == ["urgent", "Remembered", "minor"]


def test_times_are_in_the_digest_time_zone() -> None:
    entries = [
        entry(1, "Late night story", "a", published=datetime(2023, 10, 9, 23, 30, tzinfo=UTC))
    ]
    built = build_digest(digest(timezone="Europe/London"), entries, now=NOW)
    [story] = built.stories
    assert story.published is not None
    assert (story.published.hour, story.published.minute, story.published.tzname()) == (
        0,
        30,
        "BST",
    )
    assert story.published.date().isoformat() == "2023-10-10"
    assert built.created.tzname() == "BST"
    assert built.created.hour == 7


def test_a_story_matched_by_several_rules_is_one_entry() -> None:
    entries = [
        entry(1, "Hamas in Damascus", WIRE, rule="hamas", terms=["hamas"], queue_id=1),
        entry(1, "Hamas in Damascus", WIRE, rule="syria", terms=["damascus", "assad"], queue_id=2),
    ]
    rules = [Rule(name="hamas", query="x"), Rule(name="syria", query="x", priority=3)]
    built = build_digest(digest(), entries, now=NOW, rules=rules)
    [group] = built.groups
    [story] = group.stories
    assert group.name == "syria"
    assert story.rules == ("syria", "hamas")
    assert story.terms == ("hamas", "damascus", "assad")
    assert built.queue_ids == (1, 2)


def test_the_same_wire_story_from_five_feeds_is_one_entry() -> None:
    variants = [
        WIRE,
        WIRE.replace("BEIRUT (AP) — ", ""),
        WIRE.replace("Wednesday", "Wednesday, Oct. 19,") + " Read more.",
        "Updated 10:42 GMT. " + WIRE.replace("officials from both sides said", "both sides said"),
        WIRE.replace("in a decade", "in more than ten years")
        + " Copyright 2023 The Associated Press.",
    ]
    titles = [
        "Hamas delegation visits Syria, ending decade-long rift",
        "Hamas delegation in Damascus ends decade of estrangement",
        "Hamas delegation visits Syria",
        "Hamas delegation visits Syria, ending decade-long rift - Breaking",
        "Hamas officials meet Assad in Damascus",
    ]
    entries = [
        entry(i + 1, titles[i], text, feed=f"outlet-{i + 1}", published=at(9, 10 * i))
        for i, text in enumerate(variants)
    ]
    other = entry(
        9,
        "Houthis fire missile at ship",
        "The Houthis said they fired a missile at a "
        "commercial vessel in the Red Sea on Thursday, the group's spokesman said.",
        feed="outlet-1",
        published=at(11),
    )
    built = build_digest(digest(), [*entries, other], now=NOW)

    assert built.story_count == 2
    wire = next(s for s in built.stories if s.title.startswith("Hamas"))
    assert wire.feed == "outlet-1"
    assert wire.title == titles[0]
    assert [s.feed for s in wire.sources] == ["outlet-2", "outlet-3", "outlet-4", "outlet-5"]
    assert wire.article_ids == (1, 2, 3, 4, 5)
    assert built.merged == 4


def _corpus(ids: set[str]) -> dict[str, dict[str, str]]:
    found = {}
    with (DATA / "corpus" / "rss-link-db-2023q4-world-news.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if any(i in line for i in ids):
                item = json.loads(line)
                found[item["id"]] = item
    return found


def test_real_wire_copies_merge_and_different_stories_do_not() -> None:
    google = ["rldb2023-8322259f88a8", "rldb2023-d839d2bb01c0", "rldb2023-7e718a8fc28a"]
    detroit = ["rldb2023-255de353e4cf", "rldb2023-3e545076f4cc"]
    alone = [
        "rldb2023-ae4364420932",
        "rldb2023-43ec544b5327",
        # templated live pages with no text: same words, different matches
        "rldb2023-5e7beb08e4e8",
        "rldb2023-64fafddc4ae8",
        # different stories whose "text" is the same stock photo caption
        "rldb2023-ebae00485885",
        "rldb2023-72ef993e5589",
    ]
    items = _corpus({*google, *detroit, *alone})
    entries = [
        entry(
            n,
            items[i]["title"],
            items[i]["text"],
            feed=items[i]["source"],
            published=datetime.fromisoformat(items[i]["date"]),
        )
        for n, i in enumerate([*google, *detroit, *alone], start=1)
    ]
    built = build_digest(digest(), entries, now=NOW)
    assert sorted(len(s.article_ids) for s in built.stories) == [1, 1, 1, 1, 1, 1, 2, 3]
    merged = next(s for s in built.stories if len(s.article_ids) == 3)
    assert {merged.feed, *(s.feed for s in merged.sources)} == {
        "ABC News (US)",
        "Japan Today",
        "CBC News",
    }


def test_stories_already_sent_are_dropped_but_consumed() -> None:
    sent_at = NOW - timedelta(days=1)
    same_url = entry(1, "Story one about Hamas", "Unique text one.", url="https://a.example/1")
    same_hash = entry(2, "Story two about Hamas", "Unique text two.", content_hash="h2")
    retitled = entry(3, "Hamas delegation arrives in Damascus for talks with Assad", "Text three.")
    generic = entry(4, "Live updates", "Today's live blog about Hamas.")
    fresh = entry(5, "A genuinely new story about Hamas", "Unique text five.")
    sent = [
        SentItem(101, "https://a.example/1", "Old title", "x1", 1, sent_at),
        SentItem(102, "https://b.example/2", "Other", "h2", 1, sent_at),
        SentItem(
            103,
            "https://c.example/3",
            "Hamas delegation arrives in Damascus for talks with Assad - Reuters",
            "x3",
            1,
            sent_at,
        ),
        SentItem(104, "https://d.example/4", "Live updates", "x4", 1, sent_at),
    ]
    built = build_digest(
        digest(), [same_url, same_hash, retitled, generic, fresh], now=NOW, sent=sent
    )
    assert sorted(s.title for s in built.stories) == [
        "A genuinely new story about Hamas",
        "Live updates",
    ]
    assert built.already_sent == 3
    assert built.queue_ids == (10, 20, 30, 40, 50)


def test_a_duplicate_of_a_sent_story_takes_its_cluster_with_it() -> None:
    first = entry(1, "Hamas in Damascus", "BEIRUT — " + WIRE, feed="outlet-1")
    copy = entry(2, "Hamas visits Syria", WIRE, feed="outlet-2")
    sent = [SentItem(1, first.canonical_url, first.title, first.content_hash, 1, NOW)]
    built = build_digest(digest(), [first, copy], now=NOW, sent=sent)
    assert built.stories == ()
    assert not built.send
    assert built.queue_ids == (10, 20)


def test_caps_list_the_most_important_and_count_the_rest() -> None:
    entries = [
        entry(i, f"Distinct story number {i}", f"Body of story {i} " * 3, published=at(i))
        for i in range(1, 13)
    ]
    urgent = entry(20, "Urgent but old", "Urgent body.", rule="urgent", published=at(0))
    rules = [Rule(name="urgent", query="x", priority=9), Rule(name="rule", query="x")]
    built = build_digest(digest(max_stories=5), [*entries, urgent], now=NOW, rules=rules)
    assert [s.title for s in built.stories] == [
        "Urgent but old",
        *(f"Distinct story number {i}" for i in (12, 11, 10, 9)),
    ]
    assert built.more == 8
    assert len(built.queue_ids) == 13


@pytest.mark.parametrize(("send_empty", "send"), [(False, False), (True, True)])
def test_an_empty_digest_is_sent_only_when_configured(send_empty: bool, send: bool) -> None:
    built = build_digest(digest(send_empty=send_empty), [], now=NOW)
    assert built.stories == ()
    assert built.send is send
    assert built.queue_ids == ()


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_digest(digest(), [], now=datetime(2023, 10, 10, 7))


def test_title_index_finds_a_near_copy_before_and_after_it_switches_to_lsh() -> None:
    from monitor.digests.cluster import TitleIndex

    sent = [f"Minister {n} visits the northern border region on Tuesday" for n in range(300)]
    sent.append("Hamas officials arrive in Damascus for talks with Assad")
    index = TitleIndex(sent)
    index.LINEAR_BUDGET = 3 * len(sent)  # three exact scans, then the LSH index
    for _ in range(5):
        assert index.contains("Hamas officials arrive in Damascus for talks with Assad today")
        assert not index.contains("Floods close schools across the south of England")
