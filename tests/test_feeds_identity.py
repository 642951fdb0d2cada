"""entry_identity and select_new: identity, baseline, duplicates, flood and churn guards."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from monitor.feeds.identity import Selection, entry_identity, select_new
from monitor.feeds.parse import parse_feed
from monitor.model import FeedEntry
from tests.conftest import DATA

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def entry(
    n: int | str,
    *,
    guid: str | None = "",
    link: str | None = "",
    age: timedelta | None = timedelta(hours=1),
    title: str = "",
    summary: str = "",
) -> FeedEntry:
    return FeedEntry(
        guid=f"g{n}" if guid == "" else guid,
        link=f"https://example.org/{n}" if link == "" else link,
        title=title or f"Story {n}",
        summary=summary,
        published=None if age is None else NOW - age,
    )


def select(
    entries: list[FeedEntry],
    seen: set[str] | None = None,
    *,
    first_poll: bool = False,
    max_new: int = 100,
) -> Selection:
    return select_new(
        entries, seen or set(), first_poll=first_poll, now=NOW, backfill=DAY, max_new=max_new
    )


def processed(selection: Selection) -> list[str]:
    return [identity for identity, _ in selection.new]


@pytest.mark.parametrize(
    ("item", "identity"),
    [
        (entry(1, guid="  urn:uuid:1  "), "urn:uuid:1"),
        (
            entry(1, guid=None, link="HTTPS://Example.org/a?utm_source=rss&id=2#c"),
            "https://example.org/a?id=2#c",
        ),
        (entry(1, guid="   ", link="https://example.org/b"), "https://example.org/b"),
        (
            entry(1, guid=None, link=None, title=" Talks  in\nDamascus ", summary="Ｔｅｘｔ"),
            "h:" + hashlib.sha256(b"talks in damascus\ntext").hexdigest(),
        ),
        (entry(1, guid="x" * 600), "h:" + hashlib.sha256(("x" * 600).encode()).hexdigest()),
    ],
)
def test_entry_identity(item: FeedEntry, identity: str) -> None:
    assert entry_identity(item) == identity


def test_hash_identity_ignores_case_and_spacing_only() -> None:
    a = entry(1, guid=None, link=None, title="Hamas  talks", summary="In Cairo")
    b = entry(2, guid=None, link=None, title="HAMAS talks", summary=" In  Cairo ")
    c = entry(3, guid=None, link=None, title="Hamas talks", summary="In Doha")
    assert entry_identity(a) == entry_identity(b) != entry_identity(c)


def test_later_poll_processes_only_unseen_entries_in_document_order() -> None:
    entries = [entry(3), entry(2), entry(1, age=30 * DAY), entry(0, age=None)]
    selection = select(entries, {"g2"})
    assert processed(selection) == ["g3", "g1", "g0"]
    assert selection.baseline == selection.held_back == ()
    assert not selection.flood
    assert not selection.churn
    assert selection.to_record == ("g3", "g1", "g0")


def test_first_poll_records_a_baseline_and_alerts_only_within_backfill() -> None:
    entries = [
        entry("fresh", age=timedelta(hours=2)),
        entry("future", age=-timedelta(hours=3)),
        entry("edge", age=DAY),
        entry("old", age=DAY + timedelta(seconds=1)),
        entry("undated", age=None),
    ]
    selection = select(entries, first_poll=True)
    assert processed(selection) == ["gfresh", "gfuture", "gedge"]
    assert selection.baseline == selection.record_only == ("gold", "gundated")
    assert set(selection.to_record) == {"gfresh", "gfuture", "gedge", "gold", "gundated"}


def test_updated_date_stands_in_for_a_missing_published() -> None:
    item = FeedEntry(guid="u", link=None, title="t", summary="", updated=NOW - timedelta(hours=1))
    assert processed(select([item], first_poll=True)) == ["u"]


def test_duplicates_within_a_document_collapse_to_the_first() -> None:
    first = entry(1, title="first")
    entries = [first, entry(1, title="repeat"), entry(2), entry(1, title="again")]
    selection = select(entries)
    assert selection.new == (("g1", first), ("g2", entries[2]))
    assert selection.duplicates == 2


def test_flood_guard_processes_the_newest_and_records_the_rest() -> None:
    entries = [entry(n, age=timedelta(minutes=n + 1)) for n in range(10)]
    entries.insert(0, entry("undated", age=None))
    selection = select(entries, {"g9"}, max_new=3)
    assert selection.flood
    assert processed(selection) == ["g0", "g1", "g2"]
    assert set(selection.held_back) == {"gundated", "g3", "g4", "g5", "g6", "g7", "g8"}
    assert len(selection.to_record) == 10


def test_flood_guard_applies_to_the_first_poll_too() -> None:
    entries = [entry(n, age=timedelta(minutes=n)) for n in range(5)]
    selection = select(entries, first_poll=True, max_new=2)
    assert processed(selection) == ["g0", "g1"]
    assert selection.held_back == ("g2", "g3", "g4")
    assert selection.baseline == ()


def test_guid_churn_holds_back_old_entries_on_a_later_poll() -> None:
    # Twelve known stories come back with new GUIDs; one genuinely new story is among them.
    seen = {f"old-{n}" for n in range(12)}
    entries = [entry("new", age=timedelta(minutes=5))]
    entries += [entry(f"re-{n}", age=DAY * (n + 2)) for n in range(12)]
    selection = select(entries, seen)
    assert selection.churn
    assert processed(selection) == ["gnew"]
    assert len(selection.held_back) == 12
    assert not selection.flood


def test_busy_feed_with_fresh_entries_is_not_churn_held_back() -> None:
    entries = [entry(n, age=timedelta(minutes=n)) for n in range(20)]
    selection = select(entries, {"g19"})
    assert selection.churn  # flagged, but every entry is recent: all processed
    assert len(processed(selection)) == 19
    assert selection.held_back == ()


@pytest.mark.parametrize(("known", "churn"), [(1, True), (2, False)])
def test_churn_threshold_is_more_than_80_percent_new(known: int, churn: bool) -> None:
    entries = [entry(n, age=DAY * 3) for n in range(10)]
    selection = select(entries, {f"g{n}" for n in range(known)})
    assert selection.churn is churn
    assert len(processed(selection)) == (0 if churn else 10 - known)


def test_small_feeds_never_count_as_churn() -> None:
    entries = [entry(n, age=DAY * 3) for n in range(9)]
    selection = select(entries, {"x"})
    assert not selection.churn
    assert len(processed(selection)) == 9


@pytest.mark.parametrize(
    ("path", "entries", "identities"),
    [
        ("news/al-monitor.rss", 20, 11),  # the same stories repeated in one document
        ("news/boston_world.rss", 10, 10),  # empty <guid/>: links tell the stories apart
        ("mideast/jpost_homepage_2023-02-25.rss", 70, 69),  # no GUIDs at all
        ("news/heise_online.rdf", 60, 60),  # RDF without GUIDs
    ],
)
def test_identities_of_real_feeds(path: str, entries: int, identities: int) -> None:
    feed = parse_feed((DATA / "feeds" / path).read_bytes(), {}, "https://example.org/feed")
    assert len(feed.entries) == entries
    selection = select(list(feed.entries), first_poll=True, max_new=1000)
    assert len(selection.to_record) == identities
    assert selection.duplicates == entries - identities


def test_second_poll_of_the_same_real_document_finds_nothing_new() -> None:
    feed = parse_feed((DATA / "feeds/news/bbc_world.rss").read_bytes(), {}, "https://x/feed")
    now = max(e.published for e in feed.entries if e.published) + timedelta(hours=1)
    first = select_new(feed.entries, set(), first_poll=True, now=now, backfill=DAY, max_new=200)
    # Some of the 33 stories are older than a day.
    assert first.new
    assert first.baseline
    second = select_new(
        feed.entries, set(first.to_record), first_poll=False, now=now, backfill=DAY, max_new=200
    )
    assert second.new == ()
    assert second.baseline == second.held_back == ()


def test_comment_feed_items_differing_only_by_fragment_stay_apart() -> None:
    a = FeedEntry(None, "https://blog.example/post/#comment-1", "Re: post", "")
    b = FeedEntry(None, "https://blog.example/post/#comment-2", "Re: post", "")
    assert entry_identity(a) != entry_identity(b)
    assert entry_identity(a) == "https://blog.example/post/#comment-1"
