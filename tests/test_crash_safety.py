"""Crash safety of the real daemon: killed at every named step, or at random, nothing is lost.

The daemon runs as a subprocess against live feeds (items keep appearing) and real receivers
(aiosmtpd, a webhook endpoint). It dies by SIGKILL at a crash point (``MONITOR_CRASH_AT``)
or at a random moment; then it is restarted and must deliver every story the rule alerts on,
to every channel, under exactly one key per story; a key may arrive twice only when the crash
fell between the receiver's acknowledgement and our commit, and then with the same
Message-ID / webhook-id and content. The SQLite file must pass ``integrity_check``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from monitor.crashpoints import POINTS
from monitor.store import OutboxRecord, open_store
from tests.crashkit import CHANNELS, HOOK_PATH, Rig, Verdict, WebhookInbox, wait_for
from tests.crashwire import Newswire
from tests.deliverykit import T0, Newsroom
from tests.farm import Farm
from tests.pgkit import fresh_schema
from tests.receivers import SmtpReceiver

# The Nth time each point is reached: late enough that the daemon has already stored and
# sent something, early enough that new items still appear after the restart.
CRASH_COUNT = {
    "poll.after_fetch": 2,
    "store.in_ingest": 3,
    "digest.assembly": 2,
    "digest.after_commit": 2,
    "relay.after_claim": 2,
    "relay.after_ack": 2,
    "daemon.reload": 1,
}
FEEDS = ("wire-a", "wire-b")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh state: a SQLite file, or a PostgreSQL schema of its own (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state/monitor.db"
        return
    with fresh_schema("test_crash") as url:
        yield url


def make_rig(tmp_path: Path, farm: Farm, smtp: SmtpReceiver, storage: str) -> Rig:
    hook = WebhookInbox()
    farm.add_handler(HOOK_PATH, hook)
    return Rig(tmp_path, farm, smtp, hook, Newswire(farm, period=0.5), storage)


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def sqlite_rig(tmp_path: Path, farm: Farm, smtp: SmtpReceiver) -> Iterator[Rig]:
    rig = make_rig(tmp_path, farm, smtp, f"sqlite:///{tmp_path}/state/monitor.db")
    try:
        yield rig
    finally:
        rig.runner.close()


def _reach(crash_at: str, script: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MONITOR_CRASH_AT": crash_at}
    return subprocess.run(
        [sys.executable, "-c", f"from monitor.crashpoints import crashpoint\n{script}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_crash_point_kills_the_nth_time_it_is_reached_and_a_typo_is_refused() -> None:
    script = "for i in range(5):\n    print(i, flush=True)\n    crashpoint('relay.after_ack')"
    third = _reach("relay.after_ack:3", script)
    assert (third.returncode, third.stdout.split()) == (-signal.SIGKILL, ["0", "1", "2"])
    skipped = _reach("relay.after_ack", "crashpoint('relay.after_ack', when=False)")
    assert skipped.returncode == 0
    typo = _reach("relay.afterack", "")
    assert typo.returncode == 1
    assert "unknown crash point" in typo.stderr


# Each point with both channels on one digest; the kill after an acknowledgement once per
# channel, since it hits whichever channel is acknowledged first.
CASES = [
    *((point, CHANNELS) for point in POINTS if point != "relay.after_ack"),
    *(("relay.after_ack", (channel,)) for channel in CHANNELS),
]


def test_every_crash_point_has_a_case() -> None:
    assert set(CRASH_COUNT) == {point for point, _ in CASES} == set(POINTS)


@pytest.mark.parametrize(("point", "channels"), CASES, ids=[f"{p}-{'+'.join(c)}" for p, c in CASES])
def test_a_kill_at_each_step_loses_nothing_and_repeats_only_acknowledged_sends(
    point: str, channels: tuple[str, ...], sqlite_rig: Rig
) -> None:
    rig = sqlite_rig
    for name in (*FEEDS, "wire-c"):
        rig.wire.add_feed(name, 8)
    rig.configure(FEEDS, channels)
    rig.runner.start(f"{point}:{CRASH_COUNT[point]}")
    feeds: tuple[str, ...] = FEEDS
    if point == "daemon.reload":  # a feed is added and the daemon told to reload
        wait_for(lambda: all(rig.deliveries(c) for c in channels), 30, "a first alert")
        feeds = (*FEEDS, "wire-c")
        rig.configure(feeds, channels)
        assert rig.runner.proc is not None
        rig.runner.proc.send_signal(signal.SIGHUP)

    status = rig.runner.wait_exit(40)
    assert status == -signal.SIGKILL, rig.runner.tail()

    rig.runner.start()
    expected = rig.wire.expected(feeds)
    rig.wait_complete(channels, expected, timeout=60)
    status, took = rig.runner.terminate()
    assert status == 0, rig.runner.tail()
    assert took < 10
    # Only a kill between the receiver's acknowledgement and our commit repeats a message.
    repeats = [v.repeats for v in rig.check(channels, expected)]
    assert repeats == [1 if point == "relay.after_ack" else 0] * len(channels)


def expire_feed_leases(storage: str) -> None:
    """On PostgreSQL several daemons may share the state, so a restarted one cannot tell a
    killed daemon's feed lease from a live one's: it waits for the lease to run out (10 min).
    This stands in for that wait."""
    with psycopg.connect(storage) as conn:
        conn.execute("UPDATE feeds SET lease_until = NULL WHERE lease_until IS NOT NULL")


def random_kills(rig: Rig, kills: int, seed: int) -> tuple[list[Verdict], float]:
    """Start, let run 0.2-2 s, SIGKILL: ``kills`` times under live traffic; then a clean run
    to completion. Returns the verdicts and the time taken."""
    started = time.monotonic()
    rng = random.Random(seed)
    items = max(9, kills // 2)
    rig.wire.period = kills * 3.0 / items  # new items keep appearing through the kills
    for name in FEEDS:
        rig.wire.add_feed(name, items, seed)
    rig.configure(FEEDS, CHANNELS)
    for _ in range(kills):
        rig.runner.start()
        wait_for(rig.runner.running, 30, "the daemon to start")
        time.sleep(rng.uniform(0.2, 2.0))  # the point: a kill at a random moment
        assert rig.runner.kill() == -signal.SIGKILL
        if rig.sqlite_file is None:
            expire_feed_leases(rig.storage)
    rig.runner.start()
    expected = rig.wire.expected()
    rig.wait_complete(CHANNELS, expected, timeout=90)
    status, _took = rig.runner.terminate()
    assert status == 0, rig.runner.tail()
    return rig.check(CHANNELS, expected), time.monotonic() - started


@pytest.fixture
def rig(tmp_path: Path, farm: Farm, smtp: SmtpReceiver, storage: str) -> Iterator[Rig]:
    made = make_rig(tmp_path, farm, smtp, storage)
    try:
        yield made
    finally:
        made.runner.close()


def test_random_kills_under_live_traffic_lose_nothing(rig: Rig) -> None:
    verdicts, took = random_kills(rig, kills=8, seed=5)
    print(f"8 kills on {rig.storage.split(':')[0]} in {took:.0f} s:", *verdicts, sep="\n  ")
    assert all(v.stories for v in verdicts)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fifty_random_kills_under_live_traffic_lose_nothing(rig: Rig) -> None:
    verdicts, took = random_kills(rig, kills=50, seed=50)
    print(f"50 kills on {rig.storage.split(':')[0]} in {took:.0f} s:", *verdicts, sep="\n  ")
    assert all(v.stories for v in verdicts)


def test_a_digest_run_built_from_a_queue_another_run_took_records_nothing(storage: str) -> None:
    """Two runs of one immediate digest racing (the poll's and the relay tick's): the one
    that read the queue before the other committed must not send those stories again."""
    with open_store(storage) as store:
        news = Newsroom(store)
        news.queue("Hamas envoy meets council", "Hamas envoy met the council.", digests=("alerts",))
        stale = [e.queue_id for e in store.pending_digest("alerts")]
        news.queue("Hamas convoy reaches border", "A Hamas convoy reached it.", digests=("alerts",))
        fresh = [e.queue_id for e in store.pending_digest("alerts")]

        def record(run_key: str, queue_ids: list[int]) -> int | None:
            row = OutboxRecord(f"{run_key}:mail", "mail", {"ids": queue_ids}, digest="alerts")
            return store.record_digest_run(
                "alerts", run_key, now=T0, queue_ids=queue_ids, outbox=[row]
            )

        assert record("alerts#fresh", fresh) is not None
        assert record("alerts#stale", stale) is None  # its message repeats a story: dropped
        assert [r.key for r in store.outbox_rows(["pending"])] == ["alerts#fresh:mail"]
        assert store.pending_digest("alerts") == []
