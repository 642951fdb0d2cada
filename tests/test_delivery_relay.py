"""The relay against real receivers on loopback, with ``now`` simulated across hours.

Every scenario ends with the receiver's own count: each digest arrived exactly once (or, for
a crash after the acknowledgement, twice with the same key), nothing lost.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import datetime, timedelta

import pytest

from monitor.delivery import run_digest
from monitor.delivery.notice import NOTICE_META
from monitor.delivery.outbox import message_of
from monitor.digests import Templates
from monitor.http import HttpClient
from monitor.store import OutboxRecord, Store
from tests.deliverykit import (
    HOOK_PATH,
    LOOPBACK,
    POLICY,
    SLACK_PATH,
    T0,
    Newsroom,
    channels_on,
    config,
    relay_pass,
)
from tests.farm import Farm, Reply
from tests.receivers import HOST, Scripted, SmtpReceiver

OK = Reply(200, {"Content-Type": "text/plain"}, b"ok")
HOUR = timedelta(hours=1)
pytest_plugins = ["tests.store_fixtures"]

TEMPLATES = Templates()
DAILY_TO_HOOK = {"name": "daily", "schedule": "0 7 * * *", "channels": ["hook"]}


def queue_digests(store: Store, channels: list[str], count: int, now: datetime = T0) -> list[str]:
    """``count`` runs of the digest "daily" (one story each) to ``channels``; their run keys."""
    cfg = config(
        digests=[{"name": "daily", "schedule": "0 7 * * *", "channels": channels}],
        channels={name: {"type": "file"} for name in channels},
    )
    news = Newsroom(store)
    keys = []
    for i in range(count):
        news.queue(
            f"Hamas officials in Damascus, day {i}", f"Hamas met in Damascus ({i}).", now=now
        )
        run = run_digest(store, cfg, TEMPLATES, "daily", now=now, run_key=f"daily@{i}")
        assert run.queued
        keys.append(f"daily@{i}")
    return keys


def pending(store: Store) -> list[datetime]:
    return [r.next_attempt_at for r in store.outbox_rows(["pending"])]


def test_smtp_down_for_hours_then_back_delivers_each_digest_once(store: Store) -> None:
    queue_digests(store, ["mail"], 3)
    smtp = SmtpReceiver()
    make = channels_on(smtp_port=smtp.port)
    now = T0
    with socket.socket() as held:  # the port is taken but nobody listens: connection refused
        held.bind((HOST, smtp.port))
        for _ in range(8):
            report = relay_pass(store, make, now)
            assert report.delivered == 0
            assert report.claimed in (0, 3)
            now = max([now, *pending(store)]) + timedelta(minutes=1)
    assert store.outbox_counts()["pending"] == 3
    assert all("connect" in (r.last_error or "") for r in store.outbox_rows(["pending"]))

    with smtp:
        smtp.data_replies += ["421 4.3.2 Service shutting down"] * 2  # back, but not ready
        for _ in range(6):
            relay_pass(store, make, now)
            now = max([now, *pending(store)]) + timedelta(minutes=1)
        assert now < T0 + POLICY.ttl

    assert store.outbox_counts() == {"pending": 0, "leased": 0, "delivered": 3, "dead": 0}
    ids = [m.message["Message-ID"] for m in smtp.messages]
    assert len(smtp.messages) == 3
    assert len(set(ids)) == 3
    assert smtp.data_attempts == 3 + 2  # the two 421 replies, then each digest once


@pytest.mark.parametrize("kind", ["slack", "hook"])
def test_a_429_storm_is_waited_out_with_retry_after(farm: Farm, store: Store, kind: str) -> None:
    queue_digests(store, [kind], 3)
    throttled = Reply(429, {"Retry-After": "120", "Content-Type": "text/plain"}, b"rate limited")
    receiver = Scripted([throttled] * 4 + [OK])
    path = SLACK_PATH if kind == "slack" else HOOK_PATH
    farm.add_handler(path, receiver)
    url = farm.url(path)
    make = channels_on(slack_url=url) if kind == "slack" else channels_on(hook_url=url)

    now = T0
    for _ in range(12):
        asked = len(receiver.requests)
        report = relay_pass(store, make, now)
        for outcome in report.outcomes:
            if outcome.verdict == "retry":
                assert outcome.at is not None
                assert outcome.at >= now + timedelta(seconds=120)
        if report.claimed:
            assert len(receiver.requests) > asked
        if not pending(store):
            break
        # just before the earliest retry is due, nothing is claimed and nobody is asked
        asked = len(receiver.requests)
        assert relay_pass(store, make, min(pending(store)) - timedelta(seconds=1)).claimed == 0
        assert len(receiver.requests) == asked
        now = min(pending(store))

    assert store.outbox_counts()["delivered"] == 3
    accepted = receiver.requests[4:]  # the first four got 429
    assert len(accepted) == 3
    if kind == "hook":
        assert len({r.headers["webhook-id"] for r in accepted}) == 3
    gaps = [b - a for a, b in zip(receiver.times, receiver.times[1:], strict=False)]
    assert all(g >= 0 for g in gaps)


def test_a_permanent_failure_is_dead_at_once(farm: Farm, store: Store) -> None:
    queue_digests(store, ["hook"], 1)
    receiver = Scripted([Reply(410, {}, b"gone")])
    farm.add_handler(HOOK_PATH, receiver)

    report = relay_pass(store, channels_on(hook_url=farm.url(HOOK_PATH)), T0)

    assert (report.dead, len(receiver.requests)) == (1, 1)
    (row,) = store.outbox_rows(["dead"])
    assert "HTTP 410" in (row.last_error or "")
    assert relay_pass(store, channels_on(hook_url=farm.url(HOOK_PATH)), T0 + HOUR).claimed == 0


def test_ttl_expiry_goes_to_the_dead_letter_with_one_notice_per_batch(
    farm: Farm, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    queue_digests(store, ["hook"], 3)
    hook = Scripted([Reply(503, {}, b"down for maintenance")])
    slack = Scripted([OK])
    farm.add_handler(HOOK_PATH, hook)
    farm.add_handler(SLACK_PATH, slack)
    make = channels_on(hook_url=farm.url(HOOK_PATH), slack_url=farm.url(SLACK_PATH))
    later = Newsroom(store)
    caplog.set_level(logging.ERROR, logger="monitor.delivery")

    notices = []
    for hours in range(0, 40, 2):
        now = T0 + hours * HOUR
        if hours == 10:  # a fourth digest, queued later, expires later: a second batch
            later.queue("Damascus and Hamas", "Hamas in Damascus, later.", now=now)
            cfg = config(digests=[DAILY_TO_HOOK], channels={"hook": {"type": "file"}})
            run_digest(store, cfg, TEMPLATES, "daily", now=now, run_key="daily@late")
        report = relay_pass(store, make, now, notice_channels=["slack"])
        if report.notice:
            notices.append((hours, report.notice["count"]))

    assert notices == [(24, 3), (34, 1)]
    dead = store.outbox_rows(["dead"])
    assert len(dead) == 4
    assert all("not delivered within 1d" in (r.last_error or "") for r in dead)
    assert all("503" in (r.last_error or "") for r in dead)
    assert len(slack.requests) == 2  # one notice per batch, each delivered once
    assert "3 message(s)" in slack.requests[0].body.decode()
    assert store.get_meta(NOTICE_META)["count"] == 1
    errors = [
        r for r in caplog.records if r.name == "monitor.delivery" and r.levelno == logging.ERROR
    ]
    assert len(errors) == 2


def test_a_lease_that_runs_out_after_a_crash_resends_with_the_same_key(
    farm: Farm, store: Store
) -> None:
    queue_digests(store, ["mail", "hook"], 1)
    hook = Scripted([Reply(204)])
    farm.add_handler(HOOK_PATH, hook)
    with SmtpReceiver() as smtp:
        make = channels_on(smtp_port=smtp.port, hook_url=farm.url(HOOK_PATH))

        async def crashed_relay() -> None:
            """Claims, sends (the receivers acknowledge) and dies before recording it."""
            async with HttpClient(LOOPBACK) as http:
                channels = make(http)
                for row in store.claim_outbox(T0, 10, POLICY.lease):
                    await channels[row.channel].send(message_of(row.payload), row.key)

        asyncio.run(crashed_relay())
        assert relay_pass(store, make, T0 + POLICY.lease / 2).claimed == 0  # lease still held
        report = relay_pass(store, make, T0 + POLICY.lease)

    assert report.delivered == 2
    assert {r.attempts for r in store.outbox_rows(["delivered"])} == {2}
    first, second = smtp.messages
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert first.data == second.data  # byte-identical: a mail system can drop the repeat
    assert hook.requests[0].headers["webhook-id"] == hook.requests[1].headers["webhook-id"]
    assert hook.requests[0].body == hook.requests[1].body


def test_a_channel_no_longer_configured_waits_until_the_ttl(store: Store) -> None:
    queue_digests(store, ["gone"], 1)
    make = channels_on(smtp_port=1)  # only "mail" exists

    report = relay_pass(store, make, T0)

    (row,) = store.outbox_rows(["pending"])
    assert report.retried == 1
    assert "not configured" in (row.last_error or "")
    assert relay_pass(store, make, T0 + POLICY.ttl).dead == 1


def test_an_unreadable_payload_is_a_dead_letter(store: Store) -> None:
    store.enqueue([OutboxRecord("odd:1", "mail", {"text": "not a message"})], T0)
    report = relay_pass(store, channels_on(smtp_port=1), T0)
    assert report.dead == 1
    assert "unreadable" in (store.outbox_rows(["dead"])[0].last_error or "")
