"""The outbox: claims with a lease, crash recovery, retries, dead letters and requeue."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from monitor.store import OutboxRecord, Store, open_store
from tests.storekit import T0

pytest_plugins = ["tests.store_fixtures"]

LEASE = timedelta(minutes=2)
MIN = timedelta(minutes=1)
DAY = timedelta(days=1)


def message(key: str, next_attempt_at: datetime | None = None) -> OutboxRecord:
    return OutboxRecord(
        key=key, channel="hook", payload={"text": key}, next_attempt_at=next_attempt_at
    )


def test_enqueue_is_idempotent_by_key(store: Store) -> None:
    assert store.enqueue([message("a"), message("b")], T0) == 2
    assert store.enqueue([message("b"), message("c")], T0 + MIN) == 1
    rows = store.outbox_rows(["pending"])
    assert [(r.key, r.state, r.attempts, r.created_at) for r in rows] == [
        ("a", "pending", 0, T0),
        ("b", "pending", 0, T0),
        ("c", "pending", 0, T0 + MIN),
    ]
    assert store.outbox_counts() == {"pending": 3, "leased": 0, "delivered": 0, "dead": 0}


def test_claim_takes_due_rows_under_a_lease(store: Store) -> None:
    store.enqueue([message("now"), message("later", next_attempt_at=T0 + 10 * MIN)], T0)
    (row,) = store.claim_outbox(T0, 10, LEASE)
    assert (row.key, row.state, row.attempts, row.lease_until) == ("now", "leased", 1, T0 + LEASE)
    assert store.claim_outbox(T0 + MIN, 10, LEASE) == []  # leased, and "later" not due
    assert store.mark_delivered(row.id, T0 + MIN) is True
    assert store.mark_delivered(row.id, T0 + MIN) is False  # not leased any more
    (done,) = store.outbox_rows(["delivered"])
    assert (done.delivered_at, done.lease_until) == (T0 + MIN, None)
    assert [r.key for r in store.claim_outbox(T0 + 10 * MIN, 10, LEASE)] == ["later"]


def test_a_crashed_relay_lease_expires_and_the_row_is_claimed_again(store: Store) -> None:
    store.enqueue([message("a")], T0)
    (first,) = store.claim_outbox(T0, 10, LEASE)
    assert store.claim_outbox(T0 + LEASE - timedelta(microseconds=1), 10, LEASE) == []
    (second,) = store.claim_outbox(T0 + LEASE, 10, LEASE)
    assert (second.id, second.attempts, second.lease_until) == (first.id, 2, T0 + 2 * LEASE)


def test_retry_then_dead_letter_then_requeue(store: Store) -> None:
    store.enqueue([message("a"), message("b")], T0)
    a, b = store.claim_outbox(T0, 10, LEASE)
    assert store.mark_retry(a.id, T0, T0 + 5 * MIN, "HTTP 503") is True
    assert store.mark_dead(b.id, T0, "HTTP 404") is True
    assert store.claim_outbox(T0 + 4 * MIN, 10, LEASE) == []  # a waits, b is dead
    (again,) = store.claim_outbox(T0 + 5 * MIN, 10, LEASE)
    assert (again.key, again.attempts, again.last_error) == ("a", 2, "HTTP 503")
    store.mark_dead(again.id, T0 + 5 * MIN, "TTL passed")

    dead = store.outbox_rows(["dead"])
    assert [(r.key, r.last_error, r.dead_at) for r in dead] == [
        ("a", "TTL passed", T0 + 5 * MIN),
        ("b", "HTTP 404", T0),
    ]
    assert store.requeue(b.id, T0 + DAY) == 1
    assert store.requeue(b.id, T0 + DAY) == 0  # no longer dead
    assert store.requeue(None, T0 + DAY) == 1  # all the rest
    rows = store.claim_outbox(T0 + DAY, 10, LEASE)
    assert [(r.key, r.attempts, r.queued_at, r.created_at) for r in rows] == [
        ("a", 1, T0 + DAY, T0),
        ("b", 1, T0 + DAY, T0),
    ]


def test_unknown_states_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown outbox states"):
        store.outbox_rows(["sent"])


def test_two_concurrent_relays_never_claim_the_same_row(store_url: str) -> None:
    with open_store(store_url) as setup:
        setup.enqueue([message(f"m{i:03}") for i in range(60)], T0)
    got: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def relay(slot: int) -> None:
        with open_store(store_url) as mine:
            start.wait()
            while batch := mine.claim_outbox(T0, 4, LEASE):
                got[slot].extend(r.id for r in batch)

    threads = [threading.Thread(target=relay, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(got[0]) & set(got[1])
    assert len(got[0]) + len(got[1]) == 60
