"""A bounded process pool for untrusted parsing work (feedparser, trafilatura).

Jobs run in pebble worker processes started from a fork server (a clean interpreter, not a
copy of the daemon). Each job has a wall-clock timeout; each worker caps its address space
with ``RLIMIT_AS`` and is recycled after ``max_tasks`` jobs. Outcomes of ``WorkerPool.run``:

- the job returns: its value;
- the job raises: the same exception, re-raised here (``FeedParseError`` and the like are
  expected outcomes; a bug such as ``ValueError`` stays loud). Its remote traceback is the
  ``__cause__``. An exception that cannot cross the process boundary becomes ``WorkerError``;
- the job runs past the timeout: the worker is killed and replaced, ``WorkerError``;
- the job exhausts the memory limit (``MemoryError`` inside it): the worker exits at once so
  a fresh one replaces it, ``WorkerError``;
- the worker dies (segfault, OOM killer, ``os._exit``): ``WorkerError``; the pool goes on.

Jobs wait their turn here, not in pebble's first-come queue: at most ``HANDED_PER_WORKER``
jobs per worker are handed to pebble at a time (enough that a worker never idles while the
event loop is busy), and a waiting job with a lower ``priority`` number goes first (first
come among equals). The pipeline gives an article's page priority over feeds
still to be parsed, so an item already under way is not held up behind a burst of new feeds.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import itertools
import multiprocessing
import os
import pickle
import resource
import sys
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from monitor.errors import WorkerError

T = TypeVar("T")

HANDED_PER_WORKER = 4
"""Jobs per worker handed to pebble at once (running or queued there); the rest wait here."""
_OUT_OF_MEMORY_EXIT = 86
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _address_space() -> int:
    """This process's current virtual size in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * _PAGE
    except OSError:
        return 0


def _start_worker(headroom: int) -> None:
    """Pool initializer: allow the worker ``headroom`` bytes beyond its start-up size, and
    keep the garbage collector off the objects inherited from the fork server (modules
    preloaded there), so that collections neither scan them nor copy their shared pages."""
    gc.freeze()
    limit = _address_space() + headroom
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _invoke(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """Run one job inside the worker, keeping its failures transportable."""
    try:
        return fn(*args)
    except MemoryError:
        # The heap may be fragmented or half-built: replace the worker rather than reuse it.
        sys.stderr.flush()
        os._exit(_OUT_OF_MEMORY_EXIT)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            raise WorkerError(f"job raised {type(exc).__name__}: {exc}") from None
        raise


class _Gate:
    """Admits at most ``slots`` jobs at a time, lowest priority number first, in one loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, slots: int) -> None:
        self.loop = loop
        self.free = slots
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def enter(self, priority: int) -> None:
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return
        turn = self.loop.create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.leave()  # admitted and cancelled in the same breath: pass the slot on
            raise

    def leave(self) -> None:
        while self._waiting:
            turn = heapq.heappop(self._waiting)[2]
            if not turn.done():  # a waiter cancelled meanwhile is skipped
                turn.set_result(None)
                return
        self.free += 1


class WorkerPool:
    """Bounded process pool (pebble) whose jobs are killed on time or memory breach.

    ``memory_limit`` is the address space a worker may add on top of its start-up size
    (RLIMIT_AS, so it counts mappings, not just resident pages). ``max_tasks`` recycles a
    worker after that many jobs, so slow leaks in parsing libraries cannot accumulate.
    ``preload`` names modules the fork server imports before it forks the first worker (it
    applies when this process starts its fork server, which is once).
    """

    def __init__(
        self,
        max_workers: int = 2,
        timeout: float = 30.0,
        memory_limit: int = 512 << 20,
        *,
        max_tasks: int = 200,
        preload: Sequence[str] = (),
    ) -> None:
        self.timeout = timeout
        self.memory_limit = memory_limit
        self._max_workers = max_workers
        self._max_tasks = max_tasks
        self._context = multiprocessing.get_context("forkserver")
        # Modules the fork server imports once, so that every worker (and every recycled
        # one) starts with them loaded instead of importing them again.
        self._context.set_forkserver_preload(list(preload))
        self._closed = False
        self._pool = self._new_pool()
        self._gate: _Gate | None = None

    def _new_pool(self) -> ProcessPool:
        return ProcessPool(
            max_workers=self._max_workers,
            max_tasks=self._max_tasks,
            initializer=_start_worker,
            initargs=(self.memory_limit,),
            context=self._context,
        )

    def _turns(self) -> _Gate:
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate.loop is not loop:
            self._gate = _Gate(loop, self._max_workers * HANDED_PER_WORKER)
        return self._gate

    async def run(self, fn: Callable[..., T], *args: Any, priority: int = 0) -> T:
        """Run ``fn(*args)`` in a worker; ``fn`` must be a picklable top-level function.

        Waiting jobs start in ``priority`` order (lower first), then in order of arrival."""
        if self._closed:
            raise RuntimeError("WorkerPool is closed")
        gate = self._turns()
        await gate.enter(priority)
        try:
            return await self._run(fn, args)
        finally:
            gate.leave()

    async def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if not self._pool.active:
            # A pool broken by an unreadable message from a worker: start afresh.
            self._pool.stop()  # type: ignore[no-untyped-call]
            self._pool = self._new_pool()
        future = self._pool.schedule(_invoke, args=(fn, args), timeout=self.timeout)
        name = getattr(fn, "__qualname__", repr(fn))
        try:
            result: T = await asyncio.wrap_future(future)
        except TimeoutError as exc:
            # pebble's timer raises TimeoutError("Task timeout", timeout); wrap_future rebuilds
            # TimeoutErrors, so the arguments are what tell it from the job's own.
            if exc.args[:1] != ("Task timeout",):
                raise
            raise WorkerError(f"{name}: killed after {self.timeout:g} s") from None
        except ProcessExpired as exc:
            if exc.exitcode == _OUT_OF_MEMORY_EXIT:
                mib = self.memory_limit >> 20
                raise WorkerError(f"{name}: out of memory (limit {mib} MiB)") from None
            raise WorkerError(f"{name}: worker died (exit code {exc.exitcode})") from None
        except BrokenProcessPool as exc:
            raise WorkerError(f"{name}: worker pool broke ({exc})") from exc
        return result

    def close(self) -> None:
        """Stop the workers (running jobs are killed) and wait for them to exit."""
        self._closed = True
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
