"""Signals and the state lock on the real daemon: SIGTERM in the middle of a poll, and two
daemons started at the same moment on one SQLite state."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.crashkit import HOOK_PATH, DaemonRunner, Rig, WebhookInbox, wait_for
from tests.crashwire import Newswire, Story
from tests.farm import Farm, Reply, Request
from tests.receivers import SmtpReceiver

CHANNELS = ("mail", "hook")


@pytest.fixture
def rig(tmp_path: Path, farm: Farm) -> Iterator[Rig]:
    with SmtpReceiver() as smtp:
        hook = WebhookInbox()
        farm.add_handler(HOOK_PATH, hook)
        made = Rig(
            tmp_path,
            farm,
            smtp,
            hook,
            Newswire(farm, period=0.1),
            f"sqlite:///{tmp_path}/state/monitor.db",
        )
        try:
            yield made
        finally:
            made.runner.close()


class SlowFirstPoll:
    """Wraps a feed handler: the first GET trickles its body over ``seconds``."""

    def __init__(self, farm: Farm, path: str, seconds: float) -> None:
        self.inner = farm.routes[path]
        self.seconds = seconds
        self.started = threading.Event()
        farm.add_handler(path, self)

    def __call__(self, request: Request) -> Reply:
        reply = self.inner(request)
        if self.started.is_set():
            return reply
        self.started.set()
        assert isinstance(reply.body, bytes)
        return Reply(reply.status, reply.headers, reply.body, drip=self.seconds / len(reply.body))


@pytest.mark.parametrize(
    ("drip", "grace", "finished"),
    [(2.5, "6s", True), (12.0, "2s", False)],
    ids=["poll-finishes-in-grace", "poll-outlasts-grace"],
)
def test_sigterm_during_a_poll_exits_0_within_10s_and_loses_nothing(
    rig: Rig, drip: float, grace: str, finished: bool
) -> None:
    rig.wire.add_feed("wire", 6)
    slow = SlowFirstPoll(rig.farm, "/feeds/wire", drip)
    rig.configure(["wire"], CHANNELS, grace=grace, http_timeout="20s")
    expected = rig.wire.expected()
    rig.runner.start()
    wait_for(slow.started.is_set, 30, "the poll to start")
    wait_for(rig.wire.all_published, 10, "every item to be published")

    status, took = rig.runner.terminate()
    assert status == 0, rig.runner.tail()
    assert took < 10
    assert "Traceback" not in rig.runner.output()  # work past the grace is cancelled cleanly
    if finished:  # the poll in flight was let finish, and its alerts sent
        assert all(rig.deliveries(c) for c in CHANNELS)
    else:  # abandoned at the grace: nothing of it was stored or sent
        assert not any(rig.deliveries(c) for c in CHANNELS)
    _restart_and_see_everything_once(rig, expected)


def _restart_and_see_everything_once(rig: Rig, expected: set[str]) -> None:
    rig.runner.start()
    rig.wait_complete(CHANNELS, expected, timeout=60)
    status, _ = rig.runner.terminate()
    assert status == 0, rig.runner.tail()
    for verdict in rig.check(CHANNELS, expected):
        assert verdict.repeats == 0


def test_two_daemons_started_at_once_on_one_state_exactly_one_runs(rig: Rig) -> None:
    rig.wire.add_feed("wire", 3)
    rig.configure(["wire"], CHANNELS)
    twins = [DaemonRunner(rig.config, rig.tmp / f"twin-{i}.log") for i in range(2)]
    try:
        procs = [twin.start() for twin in twins]
        wait_for(lambda: any(p.poll() is not None for p in procs), 30, "one daemon to give up")
        [loser] = [t for t, p in zip(twins, procs, strict=True) if p.poll() is not None]
        [winner] = [t for t in twins if t is not loser]
        assert loser.wait_exit(5) != 0
        assert "another monitor daemon" in loser.output()

        rig.runner = winner
        rig.wait_complete(CHANNELS, rig.wire.expected(), timeout=30)
        assert winner.proc is not None
        assert winner.proc.poll() is None
        status, _ = winner.terminate()
        assert status == 0, winner.tail()
        for verdict in rig.check(CHANNELS, rig.wire.expected()):
            assert verdict.repeats == 0
    finally:
        for twin in twins:
            twin.close()


def test_sigterm_while_pages_download_cancels_them_cleanly_and_loses_nothing(rig: Rig) -> None:
    # The grace ends with page downloads in flight and more entries waiting: they are
    # cancelled, not left to fail on the closed HTTP client (a traceback each, in a soak).
    rig.wire.add_feed("wire", 9)
    slow = threading.Event()
    slow.set()
    started = threading.Event()

    def page(story: Story) -> Callable[[Request], Reply]:
        html = f"<html><body><article><h1>{story.title}</h1><p>{story.text}</p></article>"
        body = html.encode()

        def reply(_request: Request) -> Reply:
            started.set()
            drip = 3.0 / len(body) if slow.is_set() else 0.0
            return Reply(200, {"Content-Type": "text/html; charset=utf-8"}, body, drip=drip)

        return reply

    for story in rig.wire.feeds["wire"]:
        rig.farm.add_handler(f"/story/{story.slug}", page(story))
    rig.configure(["wire"], CHANNELS, grace="1s", http_timeout="20s", fetch_articles="true")
    expected = rig.wire.expected()
    rig.runner.start()
    wait_for(rig.wire.all_published, 10, "every item to be published")
    wait_for(started.is_set, 30, "a page download to start")

    status, took = rig.runner.terminate()
    assert status == 0, rig.runner.tail()
    assert took < 10
    assert "Traceback" not in rig.runner.output(), rig.runner.tail()

    slow.clear()
    _restart_and_see_everything_once(rig, expected)
