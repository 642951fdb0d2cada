"""WorkerPool: real pebble worker processes, killed on time or memory breach."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from monitor.errors import FeedParseError, WorkerError
from monitor.workers import HANDED_PER_WORKER, WorkerPool
from tests.conftest import ROOT

T = TypeVar("T")


# Jobs: top-level so the worker processes can unpickle them.
def add(a: int, b: int) -> int:
    return a + b


def pid() -> int:
    return os.getpid()


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def hog(size: int) -> int:
    return len(bytearray(size))


def refuse(url: str) -> None:
    raise FeedParseError(url, "not a feed")


def buggy() -> None:
    raise ValueError("a bug in the job")


def unpicklable_error() -> None:
    raise ValueError(threading.Lock())


def crash() -> None:
    os._exit(3)


def own_timeout() -> None:
    raise TimeoutError("the job's own deadline")


def _cannot_rebuild() -> None:
    raise TypeError("cannot rebuild in the parent")


class Trap:
    """Pickles in the worker, fails to unpickle in the parent (breaks pebble's pool)."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return _cannot_rebuild, ()


def trap() -> Trap:
    return Trap()


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def timed(fn: Callable[[], Awaitable[T]]) -> tuple[float, T | BaseException]:
    started = time.monotonic()
    try:
        outcome: T | BaseException = run(fn())
    except Exception as exc:
        outcome = exc
    return time.monotonic() - started, outcome


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(max_workers=1, timeout=1.0, memory_limit=256 << 20) as p:
        yield p


def test_returns_the_jobs_value(pool: WorkerPool) -> None:
    assert run(pool.run(add, 2, 3)) == 5
    assert run(pool.run(pid)) != os.getpid()


def test_job_past_its_timeout_is_killed_and_the_pool_goes_on(pool: WorkerPool) -> None:
    elapsed, outcome = timed(lambda: pool.run(nap, 60))
    assert isinstance(outcome, WorkerError)
    assert "killed after 1 s" in str(outcome)
    assert elapsed < 5
    assert run(pool.run(add, 1, 1)) == 2


def test_job_over_its_memory_limit_fails_and_the_pool_goes_on(pool: WorkerPool) -> None:
    elapsed, outcome = timed(lambda: pool.run(hog, 2 << 30))
    assert isinstance(outcome, WorkerError)
    assert "out of memory (limit 256 MiB)" in str(outcome)
    assert elapsed < 5
    assert run(pool.run(hog, 16 << 20)) == 16 << 20


def test_expected_errors_come_back_as_raised(pool: WorkerPool) -> None:
    with pytest.raises(FeedParseError) as caught:
        run(pool.run(refuse, "https://example.org/feed"))
    assert (caught.value.url, caught.value.reason) == ("https://example.org/feed", "not a feed")


def test_bugs_in_the_job_stay_loud(pool: WorkerPool) -> None:
    with pytest.raises(ValueError, match="a bug in the job") as caught:
        run(pool.run(buggy))
    assert "in buggy" in str(caught.value.__cause__)  # the worker's traceback
    with pytest.raises(WorkerError, match="job raised ValueError"):
        run(pool.run(unpicklable_error))
    assert run(pool.run(add, 2, 2)) == 4


def test_jobs_own_timeout_error_is_not_mistaken_for_a_kill(pool: WorkerPool) -> None:
    with pytest.raises(TimeoutError, match="the job's own deadline"):
        run(pool.run(own_timeout))


def test_pool_broken_by_an_unreadable_result_is_rebuilt(pool: WorkerPool) -> None:
    with pytest.raises(WorkerError, match="worker pool broke"):
        run(pool.run(trap))
    assert run(pool.run(add, 5, 5)) == 10


def test_dead_worker_is_replaced(pool: WorkerPool) -> None:
    with pytest.raises(WorkerError, match=r"worker died \(exit code 3\)"):
        run(pool.run(crash))
    assert run(pool.run(add, 3, 3)) == 6


def test_cancelled_job_frees_its_worker(pool: WorkerPool) -> None:
    async def cancel_then_run() -> int:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.run(nap, 20), timeout=0.1)
        return await pool.run(add, 4, 4)

    # One worker: the second job only runs once the first is gone.
    pool.timeout = 30.0
    elapsed, outcome = timed(cancel_then_run)
    assert outcome == 8
    assert elapsed < 10


def test_workers_are_recycled_after_max_tasks() -> None:
    with WorkerPool(max_workers=1, max_tasks=2) as pool:
        pids = [run(pool.run(pid)) for _ in range(3)]
    assert pids[0] == pids[1] != pids[2]


def test_concurrent_jobs_share_the_bounded_workers() -> None:
    async def many(workers: WorkerPool) -> list[int]:
        return await asyncio.gather(*(workers.run(pid) for _ in range(6)))

    with WorkerPool(max_workers=2) as workers:
        pids = run(many(workers))
    assert len(pids) == 6
    assert 1 <= len(set(pids)) <= 2


def test_closed_pool_refuses_work() -> None:
    pool = WorkerPool(max_workers=1)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        run(pool.run(add, 1, 2))


_CONSOLE_SCRIPT = """
import asyncio, os
from {module} import {function}  # the first line of the `monitor` console script
from monitor.services import WORKER_MODULES
from monitor.workers import WorkerPool

async def jobs() -> None:
    with WorkerPool(max_workers=1, max_tasks=1, preload=WORKER_MODULES) as pool:
        for _ in range(4):
            await pool.run(os.getpid)

if __name__ == "__main__":
    import monitor.cli  # as {function}() does
    asyncio.run(jobs())
"""


def test_new_workers_never_import_the_daemon(tmp_path: Path) -> None:
    # Every new worker re-runs the parent's main script: under the console script, its
    # first line imports the entry point named in pyproject.toml. `-X importtime` lists each
    # import a process really performs: monitor.cli once, in the parent, none in the four
    # workers (each used to spend about a second importing the daemon).
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    module, function = project["project"]["scripts"]["monitor"].split(":")
    script = tmp_path / "monitor-like"
    script.write_text(_CONSOLE_SCRIPT.format(module=module, function=function), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    imports = [line for line in done.stderr.splitlines() if line.endswith("| monitor.cli")]
    assert len(imports) == 1, imports


async def _jobs_in_order(workers: WorkerPool, jobs: list[tuple[str, int]]) -> list[str]:
    """Submit ``jobs`` (name, priority) one after another; the names in order of finishing."""
    finished: list[str] = []

    async def job(name: str, priority: int) -> None:
        await workers.run(nap, 0.2, priority=priority)
        finished.append(name)

    tasks = []
    for name, priority in jobs:
        tasks.append(asyncio.create_task(job(name, priority)))
        await asyncio.sleep(0.02)  # arrival order
    await asyncio.gather(*tasks)
    return finished


def test_waiting_jobs_start_by_priority_then_arrival() -> None:
    # One worker: the first HANDED_PER_WORKER jobs go to pebble; the rest wait here, and the
    # page (priority 0) overtakes the feeds that arrived before it.
    handed = [(f"handed-{i}", 1) for i in range(HANDED_PER_WORKER)]
    jobs = [*handed, ("feed-a", 1), ("feed-b", 1), ("page", 0)]
    with WorkerPool(max_workers=1) as workers:
        order = run(_jobs_in_order(workers, jobs))
    assert order == [name for name, _ in handed] + ["page", "feed-a", "feed-b"]


def test_a_cancelled_waiting_job_gives_up_its_turn() -> None:
    async def scenario(workers: WorkerPool) -> list[float]:
        handed = [asyncio.create_task(workers.run(nap, 0.1)) for _ in range(HANDED_PER_WORKER)]
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(workers.run(nap, 5.0))
        await asyncio.sleep(0.05)
        waiting.cancel()
        after = [asyncio.create_task(workers.run(nap, 0.2)) for _ in range(3)]
        return await asyncio.wait_for(asyncio.gather(*handed, *after), 30)

    with WorkerPool(max_workers=1) as workers:
        started = time.monotonic()
        assert run(scenario(workers)) == [0.1] * HANDED_PER_WORKER + [0.2] * 3
        assert time.monotonic() - started < 5  # the cancelled 5 s nap never ran
