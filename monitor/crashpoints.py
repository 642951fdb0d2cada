"""Crash points: named places where a test can make the process die at once (test-only).

The crash-safety tests (tests/test_crash_safety.py) run the daemon with the environment
variable ``MONITOR_CRASH_AT`` set to one of ``POINTS``, optionally with ``:N`` to die the
Nth time that point is reached (``relay.after_ack:3``). When the process reaches it, it
sends itself SIGKILL: no ``finally``, no flush, no commit, just as a power cut or the OOM
killer would stop it. Unset (always, outside those tests), ``crashpoint`` is one comparison.

This is the one environment read outside the config loader; it happens once, at import.
An unknown name is refused at import, so a typo cannot make a test pass for the wrong reason.
"""

from __future__ import annotations

import itertools
import os
import signal

ENV = "MONITOR_CRASH_AT"

POINTS: tuple[str, ...] = (
    "poll.after_fetch",  # a feed was fetched, nothing of it stored yet
    "store.in_ingest",  # inside the transaction storing an article, before its commit
    "digest.assembly",  # a digest run built and rendered, its transaction not begun
    "digest.after_commit",  # a digest run and its outbox rows committed, nothing sent
    "relay.after_claim",  # outbox rows leased, nothing sent
    "relay.after_ack",  # the receiver acknowledged (SMTP 250, HTTP 2xx), not marked delivered
    "daemon.reload",  # a reload half-applied: feeds synced in the store, old config in memory
)


def _target(value: str | None) -> tuple[str, int] | None:
    """``(point, n)`` from ``name`` or ``name:N``; None when unset."""
    if not value:
        return None
    name, _, count = value.partition(":")
    if name not in POINTS:
        raise ValueError(f"{ENV}={value!r}: unknown crash point (known: {', '.join(POINTS)})")
    n = int(count) if count else 1
    if n < 1:
        raise ValueError(f"{ENV}={value!r}: the count must be at least 1")
    return name, n


_TARGET = _target(os.environ.get(ENV))
_hits = itertools.count(1)  # next() is atomic: points are reached from worker threads too


def crashpoint(name: str, *, when: bool = True) -> None:
    """Die at once (SIGKILL) if ``MONITOR_CRASH_AT`` names this point and its count is due.

    ``when`` False means the point is not reached this time (e.g. a relay pass that claimed
    nothing), so it neither counts nor kills.
    """
    if _TARGET is not None and when and name == _TARGET[0] and next(_hits) >= _TARGET[1]:
        os.kill(os.getpid(), signal.SIGKILL)
