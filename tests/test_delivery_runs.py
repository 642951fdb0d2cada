"""Digest runs: queued matches become outbox rows in one transaction, once per run key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from monitor.delivery import flush_immediate, manual_run_key, run_digest, slot_run_key
from monitor.delivery.outbox import message_of, outbox_key
from monitor.digests import Templates
from monitor.store import Store
from tests.deliverykit import T0, Newsroom, config

pytest_plugins = ["tests.store_fixtures"]

TEMPLATES = Templates()
DIGESTS: list[dict[str, Any]] = [
    {"name": "daily", "schedule": "0 7 * * *", "timezone": "Europe/London",
     "channels": ["mail", "hook"], "title": "Middle East daily"},
    {"name": "urgent", "immediate": True, "channels": ["hook"]},
]  # fmt: skip
CHANNELS: dict[str, dict[str, Any]] = {
    "mail": {
        "type": "email",
        "host": "127.0.0.1",
        "from": "m@example.org",
        "to": ["d@example.org"],
    },
    "hook": {"type": "webhook", "url": "https://hooks.example/x", "secret": "s"},
}
CONFIG = config(digests=DIGESTS, channels=CHANNELS)
STORY = ("Hamas officials back in Damascus", "Two senior Hamas officials visited Damascus today.")


@pytest.fixture
def news(store: Store) -> Newsroom:
    return Newsroom(store)


def test_a_run_queues_one_row_per_channel_and_consumes_the_queue(
    store: Store, news: Newsroom
) -> None:
    news.queue(*STORY)
    key = slot_run_key("daily", T0.replace(hour=6, minute=0))

    run = run_digest(store, CONFIG, TEMPLATES, "daily", now=T0, run_key=key)

    assert key == "daily@2025-03-03T06:00Z"
    assert (run.status, run.stories, run.consumed) == ("queued", 1, 1)
    assert run.keys == (f"digest:{key}:mail", f"digest:{key}:hook")
    rows = store.outbox_rows(["pending"])
    assert [(r.key, r.channel, r.digest) for r in rows] == [
        (outbox_key(key, "mail"), "mail", "daily"),
        (outbox_key(key, "hook"), "hook", "daily"),
    ]
    message = message_of(rows[0].payload)
    assert message.subject.startswith("Middle East daily")
    assert STORY[0] in message.text
    assert message == message_of(rows[1].payload)
    assert store.pending_digest("daily") == []


def test_the_same_run_key_twice_is_a_no_op(store: Store, news: Newsroom) -> None:
    news.queue(*STORY)
    key = slot_run_key("daily", T0)
    assert run_digest(store, CONFIG, TEMPLATES, "daily", now=T0, run_key=key).status == "queued"
    news.queue("Another Hamas visit to Damascus", "Hamas went back to Damascus again.")

    again = run_digest(
        store, CONFIG, TEMPLATES, "daily", now=T0 + timedelta(minutes=1), run_key=key
    )

    assert again.status == "duplicate"
    assert len(store.outbox_rows(["pending"])) == 2
    assert len(store.pending_digest("daily")) == 1  # waits for the next run


def test_a_story_sent_within_the_dedupe_window_is_not_sent_again(
    store: Store, news: Newsroom
) -> None:
    news.queue(*STORY, feed="wire", url="https://wire.example/1")
    run_digest(store, CONFIG, TEMPLATES, "daily", now=T0, run_key="daily@1")
    # the same wire story, published again by another outlet two days later
    later = T0 + timedelta(days=2)
    news.queue(*STORY, feed="outlet", url="https://outlet.example/copy", now=later)

    repeat = run_digest(store, CONFIG, TEMPLATES, "daily", now=later, run_key="daily@2")

    assert (repeat.status, repeat.already_sent, repeat.consumed) == ("consumed", 1, 1)
    assert len(store.outbox_rows(["pending"])) == 2  # only the first run's rows


def test_after_the_dedupe_window_a_copy_counts_as_new(store: Store, news: Newsroom) -> None:
    short = config(digests=DIGESTS, channels=CHANNELS, delivery={"dedupe_window": "1d"})
    news.queue(*STORY, feed="wire", url="https://wire.example/1")
    run_digest(store, short, TEMPLATES, "daily", now=T0, run_key="daily@1")
    later = T0 + timedelta(days=2)
    news.queue(*STORY, feed="outlet", url="https://outlet.example/copy", now=later)

    fresh = run_digest(store, short, TEMPLATES, "daily", now=later, run_key="daily@2")

    assert (fresh.status, fresh.stories, fresh.already_sent) == ("queued", 1, 0)


def test_an_empty_digest_is_sent_only_with_send_empty(store: Store) -> None:
    assert run_digest(store, CONFIG, TEMPLATES, "daily", now=T0, run_key="daily@a").status == (
        "nothing"
    )
    assert store.outbox_rows(["pending"]) == []
    digests = [{**DIGESTS[0], "send_empty": True}]
    empty = config(digests=digests, channels=CHANNELS)
    run = run_digest(store, empty, TEMPLATES, "daily", now=T0, run_key="daily@b")
    assert (run.status, run.stories) == ("queued", 0)
    assert "no" in message_of(store.outbox_rows(["pending"])[0].payload).text.lower()


def test_flush_runs_immediate_digests_with_something_pending(store: Store, news: Newsroom) -> None:
    assert flush_immediate(store, CONFIG, TEMPLATES, now=T0) == []
    first_id = news.queue(*STORY, digests=("daily", "urgent"))
    assert first_id is not None

    (run,) = flush_immediate(store, CONFIG, TEMPLATES, now=T0)

    assert run.digest == "urgent"
    assert run.run_key is not None
    assert run.run_key.startswith("urgent#q")
    assert run.keys == (f"digest:{run.run_key}:hook",)
    assert flush_immediate(store, CONFIG, TEMPLATES, now=T0) == []
    assert len(store.pending_digest("daily")) == 1  # scheduled digests are left alone
    news.queue("Hamas and Damascus again", "Hamas officials returned to Damascus.",
               digests=("urgent",))  # fmt: skip
    assert flush_immediate(store, CONFIG, TEMPLATES, now=T0, names=["daily"]) == []
    (second,) = flush_immediate(store, CONFIG, TEMPLATES, now=T0, names=["urgent"])
    assert second.run_key != run.run_key


def test_a_manual_run_has_its_own_key(store: Store, news: Newsroom) -> None:
    news.queue(*STORY)
    key = manual_run_key("daily", T0)
    run = run_digest(store, CONFIG, TEMPLATES, "daily", now=T0, run_key=key)
    assert key == "daily@manual:2025-03-03T06:30:00+00:00"
    assert run.status == "queued"


def test_the_same_wire_story_from_five_feeds_is_one_entry_with_five_outlets(
    store: Store, news: Newsroom
) -> None:
    title = "Hamas delegation arrives in Damascus for talks"
    text = (
        "A Hamas delegation arrived in Damascus on Monday for talks with Syrian officials, "
        "the first such visit in a decade, officials on both sides said."
    )
    outlets = ["ap-wire", "abc-news", "the-independent", "daily-star", "gulf-times"]
    for minutes, outlet in enumerate(outlets):
        published = T0 - timedelta(hours=2) + timedelta(minutes=minutes)
        news.queue(title, text, feed=outlet, url=f"https://{outlet}.example/world/1",
                   published=published)  # fmt: skip

    run = run_digest(store, CONFIG, TEMPLATES, "daily", now=T0, run_key="daily@wire")

    assert (run.stories, run.consumed) == (1, 5)
    message = message_of(store.outbox_rows(["pending"])[0].payload)
    [group] = message.payload["data"]["groups"]
    [story] = group["stories"]
    assert story["feed"] == "ap-wire"  # the first to publish leads
    assert [s["feed"] for s in story["sources"]] == outlets[1:]
    for outlet in outlets:
        assert outlet in message.text
        assert outlet in message.html
    assert message.text.count(title) == 1
