"""Helpers for the operations tests (logs, status, health, metrics): a real ``monitor run``
subprocess whose stderr goes to a file, and waiting on a condition without fixed sleeps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def log_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of a log file (a line that is not JSON fails the test)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def events(path: Path, name: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(path) if line.get("event") == name]


@contextmanager
def daemon(
    config: Path, log: Path, env: Mapping[str, str] | None = None, options: Sequence[str] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """``monitor [OPTIONS] run -c CONFIG`` with stderr (not a terminal) in ``log``; SIGTERM on
    exit, which must end it with status 0."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", *options, "run", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=out,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    try:
        yield proc
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text(encoding="utf-8")[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
