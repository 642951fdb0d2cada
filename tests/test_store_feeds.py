"""Feeds in the store: config sync, due-poll claims with leases, poll outcomes, seen-state."""

from __future__ import annotations

import threading
from datetime import timedelta

from monitor.store import FeedState, FeedSync, PollOutcome, Store, open_store
from tests.storekit import T0, feed

pytest_plugins = ["tests.store_fixtures"]

LEASE = timedelta(minutes=5)
MIN = timedelta(minutes=1)


def by_name(store: Store) -> dict[str, FeedState]:
    return {f.name: f for f in store.list_feeds()}


def test_sync_adds_updates_removes_and_restores_feeds(store: Store) -> None:
    report = store.sync_feeds([feed("alpha", tags=["syria"]), feed("beta")], T0)
    assert report == FeedSync(added=("alpha", "beta"))
    alpha = by_name(store)["alpha"]
    assert (alpha.status, alpha.enabled, alpha.tags, alpha.next_poll_at) == (
        "active",
        True,
        ("syria",),
        T0,
    )
    assert store.sync_feeds([feed("alpha", tags=["syria"]), feed("beta")], T0) == FeedSync()

    report = store.sync_feeds([feed("alpha", tags=["levant"], interval="30m")], T0 + MIN)
    assert report == FeedSync(updated=("alpha",), removed=("beta",))
    feeds = by_name(store)
    assert feeds["alpha"].tags == ("levant",)
    assert feeds["alpha"].interval == timedelta(minutes=30)
    assert feeds["beta"].status == "removed"
    store.mark_seen(feeds["beta"].id, ["guid-1"], T0)

    report = store.sync_feeds(
        [feed("alpha", tags=["levant"], interval="30m"), feed("beta")], T0 + 2 * MIN
    )
    assert report == FeedSync(restored=("beta",))
    beta = by_name(store)["beta"]
    assert (beta.status, beta.next_poll_at) == ("active", T0 + 2 * MIN)
    assert store.seen(beta.id, ["guid-1", "guid-2"]) == {"guid-1"}  # data kept


def test_interval_auto_and_config_disable_are_recorded(store: Store) -> None:
    store.sync_feeds([feed("alpha", interval="auto", enabled=False)], T0)
    alpha = by_name(store)["alpha"]
    assert (alpha.interval_auto, alpha.interval, alpha.enabled) == (True, None, False)
    assert store.claim_due_feeds(T0, 10, LEASE) == []


def test_claims_respect_next_poll_at_leases_and_limit(store: Store) -> None:
    store.sync_feeds([feed("a"), feed("b"), feed("c")], T0)
    ids = {f.name: f.id for f in store.list_feeds()}
    store.record_poll(ids["c"], PollOutcome(now=T0, ok=True, next_poll_at=T0 + 10 * MIN))
    store.record_poll(ids["a"], PollOutcome(now=T0, ok=True, next_poll_at=T0 + MIN))

    first = store.claim_due_feeds(T0 + MIN, 1, LEASE)
    assert [f.name for f in first] == ["b"]  # earliest due first, limit honoured
    assert first[0].lease_until == T0 + MIN + LEASE
    assert [f.name for f in store.claim_due_feeds(T0 + 2 * MIN, 10, LEASE)] == ["a"]
    assert store.claim_due_feeds(T0 + 3 * MIN, 10, LEASE) == []  # a, b leased; c not due

    # b's poller died: once its lease runs out, b is claimable again.
    expired = T0 + MIN + LEASE
    assert [f.name for f in store.claim_due_feeds(expired, 10, LEASE)] == ["b"]
    store.record_poll(ids["a"], PollOutcome(now=expired, ok=True, next_poll_at=expired))
    assert [f.name for f in store.claim_due_feeds(expired, 10, LEASE)] == ["a"]


def test_removed_feeds_are_not_claimed(store: Store) -> None:
    store.sync_feeds([feed("a"), feed("b")], T0)
    store.sync_feeds([feed("a")], T0)
    assert [f.name for f in store.claim_due_feeds(T0, 10, LEASE)] == ["a"]


def test_record_poll_success_then_errors(store: Store) -> None:
    store.sync_feeds([feed("alpha")], T0)
    (alpha,) = store.claim_due_feeds(T0, 10, LEASE)
    store.record_poll(
        alpha.id,
        PollOutcome(
            now=T0,
            ok=True,
            next_poll_at=T0 + 10 * MIN,
            etag='"v1"',
            last_modified="Sat, 01 Mar 2025 11:00:00 GMT",
            body_hash="h1",
            entries_added=7,
        ),
    )
    ok = by_name(store)["alpha"]
    assert (ok.etag, ok.last_modified, ok.body_hash) == (
        '"v1"',
        "Sat, 01 Mar 2025 11:00:00 GMT",
        "h1",
    )
    assert (ok.last_success_at, ok.last_polled_at, ok.lease_until) == (T0, T0, None)
    assert (ok.error_count, ok.last_new_entries, ok.next_poll_at) == (0, 7, T0 + 10 * MIN)

    for i in (1, 2):
        store.record_poll(
            alpha.id,
            PollOutcome(
                now=T0 + i * MIN,
                ok=False,
                next_poll_at=T0 + 20 * MIN,
                error="https://alpha.example/feed: HTTP 503",
                error_kind="status",
            ),
        )
    failing = by_name(store)["alpha"]
    assert (failing.error_count, failing.last_error, failing.last_error_kind) == (
        2,
        "https://alpha.example/feed: HTTP 503",
        "status",
    )
    assert failing.last_success_at == T0
    assert failing.etag == '"v1"'  # validators survive errors

    store.record_poll(alpha.id, PollOutcome(now=T0 + 3 * MIN, ok=True, next_poll_at=T0))
    recovered = by_name(store)["alpha"]
    assert (recovered.error_count, recovered.last_error, recovered.etag) == (0, None, '"v1"')


def test_gone_feed_is_disabled_until_enabled_or_its_url_changes(store: Store) -> None:
    store.sync_feeds([feed("alpha")], T0)
    (alpha,) = store.claim_due_feeds(T0, 10, LEASE)
    store.record_poll(
        alpha.id,
        PollOutcome(now=T0, ok=False, next_poll_at=T0, error="HTTP 410", disable_reason="410 Gone"),
    )
    gone = by_name(store)["alpha"]
    assert (gone.status, gone.disabled_reason) == ("disabled", "410 Gone")
    assert store.claim_due_feeds(T0 + MIN, 10, LEASE) == []
    assert store.sync_feeds([feed("alpha")], T0 + MIN) == FeedSync()  # still disabled

    assert store.enable_feed("alpha", T0 + 2 * MIN) is True
    assert store.enable_feed("alpha", T0 + 2 * MIN) is False
    assert [f.name for f in store.claim_due_feeds(T0 + 2 * MIN, 10, LEASE)] == ["alpha"]
    store.record_poll(
        alpha.id, PollOutcome(now=T0, ok=False, next_poll_at=T0, disable_reason="410 Gone")
    )
    store.sync_feeds([feed("alpha", "https://alpha.example/new.xml")], T0 + 3 * MIN)
    moved = by_name(store)["alpha"]
    assert (moved.status, moved.url, moved.error_count) == (
        "active",
        "https://alpha.example/new.xml",
        0,
    )


def test_permanent_redirect_moves_the_feed_until_the_config_changes(store: Store) -> None:
    store.sync_feeds([feed("alpha", "http://alpha.example/rss")], T0)
    (alpha,) = store.claim_due_feeds(T0, 10, LEASE)
    store.record_poll(
        alpha.id,
        PollOutcome(
            now=T0, ok=True, next_poll_at=T0, etag="e1", new_url="https://alpha.example/feed.xml"
        ),
    )
    store.sync_feeds([feed("alpha", "http://alpha.example/rss")], T0)  # same config
    moved = by_name(store)["alpha"]
    assert (moved.url, moved.original_url, moved.etag) == (
        "https://alpha.example/feed.xml",
        "http://alpha.example/rss",
        "e1",
    )
    store.sync_feeds([feed("alpha", "https://alpha.example/other")], T0 + MIN)
    changed = by_name(store)["alpha"]
    assert (changed.url, changed.original_url) == (
        "https://alpha.example/other",
        "https://alpha.example/other",
    )
    assert (changed.etag, changed.last_modified, changed.body_hash) == (None, None, None)
    assert changed.next_poll_at == T0 + MIN


def test_record_poll_of_an_unknown_feed_raises(store: Store) -> None:
    try:
        store.record_poll(999, PollOutcome(now=T0, ok=True, next_poll_at=T0))
    except KeyError:
        return
    raise AssertionError("KeyError expected")


def test_two_concurrent_claimers_never_get_the_same_feed(store_url: str) -> None:
    with open_store(store_url) as setup:
        setup.sync_feeds([feed(f"f{i:03}") for i in range(60)], T0)
    got: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def claimer(slot: int) -> None:
        with open_store(store_url) as mine:  # its own engine and connections
            start.wait()
            while batch := mine.claim_due_feeds(T0, 4, LEASE):
                got[slot].extend(f.id for f in batch)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(got[0]) & set(got[1])
    assert len(got[0]) + len(got[1]) == 60


def test_seen_state(store: Store) -> None:
    store.sync_feeds([feed("alpha"), feed("beta")], T0)
    ids = {f.name: f.id for f in store.list_feeds()}
    alpha = ids["alpha"]
    assert store.has_seen_any(alpha) is False
    long_guid = "tag:alpha.example," + "x" * 5000
    assert store.mark_seen(alpha, ["g1", "g2", long_guid, "g1"], T0) == 3
    assert store.mark_seen(alpha, ["g2", "g3"], T0 + MIN) == 1
    assert store.has_seen_any(alpha) is True
    assert store.has_seen_any(ids["beta"]) is False
    assert store.seen(alpha, ["g1", "g3", "g9", long_guid]) == {"g1", "g3", long_guid}
    assert store.seen(ids["beta"], ["g1"]) == set()
    assert by_name(store)["alpha"].entries_count == 4
    many = [f"guid-{i}" for i in range(1200)]  # more than one statement's worth
    assert store.mark_seen(alpha, many, T0) == 1200
    assert store.seen(alpha, many) == set(many)
