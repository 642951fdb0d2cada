"""Saving processed articles in one transaction; novelty, host boilerplate, digests, pruning."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import IntegrityError

from monitor.store import (
    DigestItemRecord,
    MatchRecord,
    NoveltyRecord,
    OutboxRecord,
    PruneReport,
    Store,
)
from monitor.store.schema import articles, digest_queue, entries, matches, novelty, outbox
from tests.storekit import T0, article, feed

pytest_plugins = ["tests.store_fixtures"]

DAY = timedelta(days=1)
EVIDENCE = {"terms": ["hamas", "damascus"], "snippets": [{"text": "Hamas in Damascus"}]}


def count(store: Store, table: Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def feed_ids(store: Store, *names: str) -> list[int]:
    store.sync_feeds([feed(n) for n in names], T0)
    by_name = {f.name: f.id for f in store.list_feeds()}
    return [by_name[n] for n in names]


def alert(key: str, rule: str = "hamas-syria") -> OutboxRecord:
    return OutboxRecord(key=key, channel="ops-mail", payload={"rule": rule}, digest="alerts")


def save(
    store: Store,
    feed_id: int,
    identity: str,
    url: str,
    rules: tuple[str, ...],
    *,
    now: datetime = T0,
    digests: tuple[str, ...] = (),
) -> int | None:
    """Save an article with one match, one outbox row and queue items per rule."""
    return store.save_article(
        feed_id,
        identity,
        article(url),
        now=now,
        matches=[MatchRecord(rule, EVIDENCE) for rule in rules],
        outbox=[alert(f"{url}|{rule}|ops-mail", rule) for rule in rules],
        digest_items=[DigestItemRecord(d, rule) for rule in rules for d in digests],
        novelty=[],
    )


def test_save_article_stores_everything_once(store: Store) -> None:
    (alpha,) = feed_ids(store, "alpha")
    url = "https://news.example/a/1"
    first = save(store, alpha, "guid-1", url, ("hamas-syria",), digests=("daily",))
    assert isinstance(first, int)
    assert store.seen(alpha, ["guid-1"]) == {"guid-1"}
    (row,) = store.outbox_rows(["pending"])
    assert (row.key, row.article_id, row.payload, row.next_attempt_at) == (
        f"{url}|hamas-syria|ops-mail",
        first,
        {"rule": "hamas-syria"},
        T0,
    )
    (queued,) = store.pending_digest("daily")
    assert (queued.article_id, queued.rule, queued.evidence, queued.feed) == (
        first,
        "hamas-syria",
        EVIDENCE,
        "alpha",
    )
    assert (queued.title, queued.published, queued.tags) == (
        "Talks resume in Damascus",
        T0,
        ("syria",),
    )

    # The same entry processed again (say, after a crash before the lease was released).
    again = save(store, alpha, "guid-1", url, ("hamas-syria",), now=T0 + DAY, digests=("daily",))
    assert again is None
    assert [count(store, t) for t in (articles, matches, outbox, digest_queue)] == [1, 1, 1, 1]


def test_same_story_from_a_second_feed_adds_only_what_is_new(store: Store) -> None:
    alpha, beta = feed_ids(store, "alpha", "beta")
    url = "https://news.example/a/1"
    article_id = save(store, alpha, "a-1", url, ("hamas-syria",))
    assert save(store, beta, "b-7", url, ("hamas-syria", "beta-only")) is None
    assert store.seen(beta, ["b-7"]) == {"b-7"}
    with store.engine.connect() as conn:
        rules = conn.execute(select(matches.c.rule).order_by(matches.c.rule)).scalars().all()
        feed_of = conn.execute(select(articles.c.feed_id)).scalar_one()
    assert rules == ["beta-only", "hamas-syria"]
    assert feed_of == alpha  # the first feed is recorded
    keys = sorted(r.key for r in store.outbox_rows(["pending"]))
    assert keys == [f"{url}|beta-only|ops-mail", f"{url}|hamas-syria|ops-mail"]
    assert {r.article_id for r in store.outbox_rows(["pending"])} == {article_id}


@pytest.mark.parametrize(
    ("bad_outbox", "bad_digest"),
    [
        # the database refuses an outbox row (NOT NULL), after the article and its matches
        ([OutboxRecord(key="k2", channel=None, payload={})], []),  # type: ignore[arg-type]
        # a digest item for a rule that did not match, checked after the outbox insert
        ([], [DigestItemRecord("daily", "no-such-rule")]),
    ],
)
def test_save_article_is_all_or_nothing(
    store: Store, bad_outbox: list[OutboxRecord], bad_digest: list[DigestItemRecord]
) -> None:
    (alpha,) = feed_ids(store, "alpha")
    with pytest.raises((IntegrityError, ValueError)):
        store.save_article(
            alpha,
            "guid-1",
            article(),
            now=T0,
            matches=[MatchRecord("hamas-syria", EVIDENCE)],
            outbox=[alert("k1"), *bad_outbox],
            digest_items=[DigestItemRecord("daily", "hamas-syria"), *bad_digest],
            novelty=[NoveltyRecord("alignments", "hezbollah", T0)],
        )
    assert store.seen(alpha, ["guid-1"]) == set()
    assert store.has_seen_any(alpha) is False
    assert [count(store, t) for t in (articles, matches, outbox, digest_queue, novelty)] == [
        0,
        0,
        0,
        0,
        0,
    ]
    assert store.list_feeds()[0].entries_count == 0


def test_records_that_a_json_column_cannot_hold_are_refused_early() -> None:
    with pytest.raises(ValueError, match="payload is not JSON"):
        OutboxRecord(key="k", channel="c", payload={"when": object()})
    with pytest.raises(ValueError, match="evidence is not JSON"):
        MatchRecord("r", {"score": float("nan")})
    with pytest.raises(ValueError, match="key must have"):
        OutboxRecord(key="k" * 201, channel="c", payload={})


def test_novelty_history_keeps_first_and_latest_sighting(store: Store) -> None:
    (alpha,) = feed_ids(store, "alpha")
    assert store.novelty_last_seen("alignments", ["hezbollah"]) == {}
    for i, when in enumerate((T0, T0 + 3 * DAY, T0 + DAY)):  # out of order on purpose
        store.save_article(
            alpha,
            f"g{i}",
            article(f"https://news.example/{i}"),
            [],
            [],
            [],
            [NoveltyRecord("alignments", "hezbollah", when)],
            when,
        )
    store.save_article(
        alpha,
        "g9",
        article("https://news.example/9"),
        [],
        [],
        [],
        [NoveltyRecord("other-rule", "iran", T0)],
        T0,
    )
    assert store.novelty_last_seen("alignments", ["hezbollah", "iran", "nobody"]) == {
        "hezbollah": T0 + 3 * DAY
    }
    with store.engine.connect() as conn:
        first_seen = conn.execute(
            select(novelty.c.first_seen).where(novelty.c.actor == "hezbollah")
        ).scalar_one()
    assert first_seen == T0


def test_host_blocks_count_articles_per_fingerprint(store: Store) -> None:
    store.record_host_blocks("news.example", ["nav", "footer", "nav"], T0)
    store.record_host_blocks("news.example", ["footer", "para-2"], T0 + DAY)
    store.record_host_blocks("other.example", ["footer"], T0)
    assert store.host_block_counts("news.example") == {"nav": 1, "footer": 2, "para-2": 1}
    assert store.host_block_counts("news.example", min_articles=2) == {"footer": 2}
    assert store.host_block_counts("nowhere.example") == {}
    with pytest.raises(ValueError, match="longer than 64"):
        store.record_host_blocks("news.example", ["f" * 65], T0)


def test_a_story_goes_out_once_per_digest_name(store: Store) -> None:
    alpha, beta = feed_ids(store, "alpha", "beta")
    url = "https://news.example/a/1"
    save(store, alpha, "a-1", url, ("hamas-syria",), digests=("daily", "weekly"))
    save(store, alpha, "a-2", "https://news.example/a/2", ("hamas-syria",), digests=("daily",))
    daily = store.pending_digest("daily")
    assert [e.canonical_url for e in daily] == [url, "https://news.example/a/2"]

    mail = OutboxRecord(
        key="daily|2025-03-01|ops-mail", channel="ops-mail", payload={"stories": 1}, digest="daily"
    )
    run = store.record_digest_run(
        "daily", "daily|2025-03-01", now=T0 + DAY, queue_ids=[daily[0].queue_id], outbox=[mail]
    )
    assert isinstance(run, int)
    assert (
        store.record_digest_run(
            "daily", "daily|2025-03-01", now=T0 + DAY, queue_ids=[daily[1].queue_id], outbox=[mail]
        )
        is None
    )
    assert [e.canonical_url for e in store.pending_digest("daily")] == ["https://news.example/a/2"]
    assert len(store.pending_digest("weekly")) == 1  # other digest names are independent
    assert [r.key for r in store.outbox_rows(["pending"]) if r.digest == "daily"] == [
        "daily|2025-03-01|ops-mail"
    ]

    # The story comes again through another feed with another rule: not queued for daily.
    save(store, beta, "b-1", url, ("beta-only",), now=T0 + 2 * DAY, digests=("daily",))
    assert [e.canonical_url for e in store.pending_digest("daily")] == ["https://news.example/a/2"]
    (sent,) = store.digest_sent_since("daily", T0)
    assert (sent.canonical_url, sent.run_id, sent.sent_at) == (url, run, T0 + DAY)
    assert store.digest_sent_since("daily", T0 + 2 * DAY) == []


def test_prune_deletes_by_age_only_what_is_done(store: Store) -> None:
    (alpha,) = feed_ids(store, "alpha")
    old, now = T0, T0 + 100 * DAY
    store.mark_seen(alpha, ["old", "refreshed"], old)
    store.mark_seen(alpha, ["refreshed", "new"], now - DAY)  # seen again lately: kept
    delivered = save(store, alpha, "d", "https://news.example/delivered", ("r",), now=old)
    waiting = save(store, alpha, "w", "https://news.example/waiting", ("r",), now=old)
    queued = save(store, alpha, "q", "https://news.example/queued", (), now=old)
    store.save_article(
        alpha,
        "q2",
        article("https://news.example/queued2"),
        now=old,
        matches=[MatchRecord("r")],
        outbox=[],
        digest_items=[DigestItemRecord("daily", "r")],
        novelty=[],
    )
    recent = save(store, alpha, "n", "https://news.example/new", ("r",), now=now - DAY)
    rows = {r.article_id: r.id for r in store.claim_outbox(now, 10, timedelta(minutes=1))}
    assert set(rows) == {delivered, waiting, recent}
    store.mark_delivered(rows[delivered], old + DAY)
    store.mark_delivered(rows[recent], now)
    store.mark_retry(rows[waiting], now, now + DAY, "timeout")
    store.record_host_blocks("news.example", ["stale"], old)
    store.record_host_blocks("news.example", ["fresh"], now)

    report = store.prune(now, timedelta(days=90))
    assert report == PruneReport(entries=5, articles=2, outbox=1, digest_runs=0, host_blocks=1)
    with store.engine.connect() as conn:
        kept = set(conn.execute(select(articles.c.canonical_url)).scalars())
        left = set(conn.execute(select(entries.c.identity)).scalars())
    assert kept == {
        "https://news.example/waiting",
        "https://news.example/queued2",
        "https://news.example/new",
    }
    assert queued is not None
    assert left == {"refreshed", "new", "n"}
    assert store.list_feeds()[0].entries_count == 3
    assert store.host_block_counts("news.example") == {"fresh": 1}
    assert store.prune(now, timedelta(days=90)) == PruneReport()
