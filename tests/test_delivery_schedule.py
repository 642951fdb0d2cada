"""Scheduled digests: the due slot (pure), and a slot missed while down runs exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config.schema import Digest
from monitor.delivery.schedule import (
    SlotCursor,
    due_slot,
    run_due_digest,
    run_due_digests,
    slot_meta_key,
)
from monitor.digests import Templates
from monitor.store import Store, open_store
from tests.deliverykit import Newsroom, config

LONDON_DAILY = Digest(
    name="daily", schedule="0 7 * * *", timezone="Europe/London", channels=("files",)
)
TEMPLATES = Templates()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def cursor(at: str, digest: Digest = LONDON_DAILY) -> SlotCursor:
    assert digest.schedule is not None
    return SlotCursor(utc(at), digest.schedule, digest.timezone)


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [
        # on time: the cron job fires a few milliseconds after 07:00 London (06:00 UTC in summer)
        ("2025-06-09 06:00", "2025-06-10 06:00:00.004", "2025-06-10 06:00"),
        # the same slot again: nothing
        ("2025-06-10 06:00", "2025-06-10 06:00:01", None),
        ("2025-06-10 06:00", "2025-06-10 23:59", None),
        # down for three days: only the latest slot, once
        ("2025-06-06 06:00", "2025-06-09 09:30", "2025-06-09 06:00"),
        # in winter 07:00 London is 07:00 UTC
        ("2025-01-09 07:00", "2025-01-10 07:00:00.5", "2025-01-10 07:00"),
        # across the clock change (30 March 2025): 07:00 BST is 06:00 UTC
        ("2025-03-29 07:00", "2025-03-30 06:10", "2025-03-30 06:00"),
        ("2025-03-29 07:00", "2025-03-30 05:59", None),
    ],
)
def test_due_slot(last: str, now: str, expected: str | None) -> None:
    slot = due_slot(LONDON_DAILY, cursor(last), utc(now))
    assert slot == (utc(expected) if expected else None)


def test_weekday_schedules_count_weekdays_the_cron_way() -> None:
    weekdays = Digest(name="wd", schedule="30 8 * * 1-5", timezone="UTC", channels=("files",))
    # Friday 08:30 ran; back on Tuesday 12:00 after a long weekend down: Tuesday's slot, once
    slot = due_slot(weekdays, cursor("2025-03-07 08:30", weekdays), utc("2025-03-11 12:00"))
    assert slot == utc("2025-03-11 08:30")
    # Sunday: the last slot is still Friday's
    assert due_slot(weekdays, cursor("2025-03-07 08:30", weekdays), utc("2025-03-09 12:00")) is None


def test_without_a_cursor_only_a_slot_moments_ago_is_due() -> None:
    # the daemon starting at 10:00 does not send the 07:00 digest ...
    assert due_slot(LONDON_DAILY, None, utc("2025-06-10 09:00")) is None
    # ... but a start (or a cron job) just after the slot does
    assert due_slot(LONDON_DAILY, None, utc("2025-06-10 06:00:30")) == utc("2025-06-10 06:00")


def test_a_changed_schedule_restarts_the_count() -> None:
    old = SlotCursor(utc("2025-06-09 06:00"), "0 6 * * *", "Europe/London")
    # the cursor was made for another schedule: yesterday's 07:00 is not "missed"
    assert due_slot(LONDON_DAILY, old, utc("2025-06-10 05:30")) is None


def test_a_dense_schedule_is_cheap_after_a_long_outage() -> None:
    minutely = Digest(name="m", schedule="* * * * *", timezone="UTC", channels=("files",))
    slot = due_slot(minutely, cursor("2024-01-01 00:00", minutely), utc("2025-06-10 12:34:56"))
    assert slot == utc("2025-06-10 12:34")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path}/monitor.db") as s:
        yield s


def test_a_slot_missed_while_down_runs_exactly_once_on_return(store: Store) -> None:
    cfg = config(
        digests=[{"name": "daily", "schedule": "0 7 * * *", "timezone": "Europe/London",
                  "channels": ["files"]}],
        channels={"files": {"type": "file", "path": "/unused"}},
    )  # fmt: skip
    news = Newsroom(store)
    monday = utc("2025-06-09 06:00:00.01")
    news.queue("Hamas officials in Damascus", "Hamas officials visited Damascus.", now=monday)
    first = run_due_digest(store, cfg, TEMPLATES, "daily", now=monday)
    assert first is not None
    assert (first.status, first.run_key) == ("queued", "daily@2025-06-09T06:00Z")

    # Down from Monday evening until Thursday 09:00; two stories queued meanwhile.
    news.queue("Hamas leaders meet in Damascus", "Hamas leaders met in Damascus on Tuesday.",
               now=utc("2025-06-09 18:00"))  # fmt: skip
    news.queue("Damascus welcomes Hamas", "Damascus welcomed a Hamas delegation on Wednesday.",
               now=utc("2025-06-10 18:00"))  # fmt: skip
    back = utc("2025-06-12 09:00")
    runs = [
        run_due_digests(store, cfg, TEMPLATES, now=back + timedelta(minutes=m)) for m in range(3)
    ]

    assert [len(r) for r in runs] == [1, 0, 0]
    (caught_up,) = runs[0]
    assert (caught_up.run_key, caught_up.stories) == ("daily@2025-06-12T06:00Z", 2)
    assert len(store.outbox_rows(["pending"])) == 2  # Monday's and Thursday's, one channel
    assert store.get_meta(slot_meta_key("daily"))["at"] == "2025-06-12T06:00:00+00:00"
    # the next day runs on time again
    friday = run_due_digest(store, cfg, TEMPLATES, "daily", now=utc("2025-06-13 06:00:00.2"))
    assert friday is not None
    assert (friday.run_key, friday.status) == ("daily@2025-06-13T06:00Z", "nothing")


def test_a_slot_that_ran_but_whose_cursor_was_lost_is_not_sent_twice(store: Store) -> None:
    cfg = config(
        digests=[{"name": "daily", "schedule": "0 7 * * *", "timezone": "UTC",
                  "channels": ["files"], "send_empty": True}],
        channels={"files": {"type": "file", "path": "/unused"}},
    )  # fmt: skip
    now = utc("2025-06-09 07:00:00.1")
    first = run_due_digest(store, cfg, TEMPLATES, "daily", now=now)
    assert first is not None
    assert first.status == "queued"  # send_empty: an empty digest goes out
    # a crash lost the cursor update: the same slot is checked again, the run key stops it
    store.set_meta(slot_meta_key("daily"), None, now)
    again = run_due_digest(store, cfg, TEMPLATES, "daily", now=now + timedelta(seconds=30))
    assert again is not None
    assert again.status == "duplicate"
    assert len(store.outbox_rows(["pending"])) == 1
