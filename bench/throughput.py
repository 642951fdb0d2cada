"""End-to-end throughput on one core: feed item → stored, matched article.

A news farm (``bench.newsfarm``, static mode: every item fresh) serves ``--feeds`` feeds ×
``--items`` items over loopback hosts from its own process, pinned to another core. In a
child process pinned to one core, ``monitor``'s pipeline polls every feed once, as the
daemon does: fetch the feed, parse it in the worker, download each item's page, clean it in
the worker (one worker process, on the same core), match it against ``--rules`` generated
rules (each notifying a daily digest) and commit article, matches and digest items. Config,
rule compilation and worker start-up happen before the clock starts.

Reported: entries stored per wall second and per CPU second (the pipeline process and its
workers together), the CPU shares of extraction and feed parsing (timed inside the worker)
and of matching (timed on the event-loop thread), and, as the naive baseline measured in the
same run on the same core, one page after the other: a GET with urllib, plain
``trafilatura.extract``, the rules as regular expressions (``bench.matching_rules``) and an
INSERT + COMMIT into SQLite.

Run: ``python -m bench.throughput`` (1,000 entries, 10,000 rules: a few minutes);
``--profile`` also prints where the pipeline process spends its time (cProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import pstats
import sqlite3
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from bench.benchconfig import corpus_rules, feed_urls, write_config
from bench.farmserver import serve
from bench.newsfarm import FarmSpec, load_pages
from bench.proctree import tree_cpu
from monitor.alerts import Alerts, Matcher
from monitor.config.schema import Rule
from monitor.model import Article
from monitor.workers import WorkerPool

T = TypeVar("T")


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, Exception | None, float]:
    """Run ``fn`` in the worker and return its result (or exception) with its CPU time."""
    start = time.process_time()
    try:
        return fn(*args), None, time.process_time() - start
    except Exception as exc:
        return None, exc, time.process_time() - start


class TimedPool(WorkerPool):
    """A WorkerPool that adds up, per job function, the CPU time its jobs took."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cpu: dict[str, float] = defaultdict(float)

    async def run(self, fn: Callable[..., T], *args: Any, priority: int = 0) -> T:
        value, exc, cpu = await super().run(_timed, fn, *args, priority=priority)
        self.cpu[fn.__name__] += cpu
        if exc is not None:
            raise exc
        result: T = value
        return result


@dataclass
class TimedMatcher(Matcher):
    """A Matcher that adds up the CPU time of its calls (thread time: matching runs on the
    event-loop thread while store calls run in others)."""

    cpu: float = 0.0

    def match(self, article: Article, *, now: datetime) -> Alerts:
        start = time.thread_time()
        try:
            return super().match(article, now=now)
        finally:
            self.cpu += time.thread_time() - start


async def _poll_once(config_path: Path, profile: bool) -> dict[str, Any]:
    from monitor.articles.extract import extract_job
    from monitor.config import load_config
    from monitor.feeds.parse import parse_feed
    from monitor.http import HttpClient
    from monitor.pipeline import poll_feeds
    from monitor.services import WORKER_MEMORY, WORKER_MODULES, Services, utc_now
    from monitor.store import open_store

    config = load_config(config_path).config
    store = open_store(config.storage)
    pool = TimedPool(
        max_workers=1,
        timeout=120,
        memory_limit=WORKER_MEMORY,
        preload=WORKER_MODULES,  # as the daemon's pool
    )
    try:
        async with HttpClient(config.http) as client:
            start = time.process_time()
            base = Matcher.build(config, store.novelty_last_seen)
            compile_s = time.process_time() - start
            matcher = TimedMatcher(base.index, base.last_seen)
            svc = Services(config, store, client, pool, matcher, utc_now)
            await pool.run(extract_job, load_pages(1)[0], "http://warm.example/", frozenset(), None)
            await pool.run(
                parse_feed,
                b"<rss><channel><item><title>w</title></item></channel></rss>",
                {},
                "http://warm.example/",
            )
            pool.cpu.clear()
            store.sync_feeds(config.feeds, utc_now())
            states = store.list_feeds()
            profiler = cProfile.Profile() if profile else None
            cpu0, wall0 = tree_cpu(os.getpid()), time.perf_counter()
            if profiler:
                profiler.enable()
            reports = await poll_feeds(svc, states)
            if profiler:
                profiler.disable()
            wall = time.perf_counter() - wall0
            cpu = tree_cpu(os.getpid()) - cpu0
    finally:
        pool.close()
        store.close()
    if profiler:
        print("\npipeline process, top functions by own time (cProfile):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    articles = [a.article for r in reports for a in r.articles]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "articles": len(articles),
        "from_page": sum(1 for a in articles if a.text_source == "page"),
        "matched": sum(1 for r in reports for a in r.articles if a.alerts.found),
        "errors": sum(1 for r in reports if r.error),
        "extract_s": pool.cpu["extract_job"],
        "parse_s": pool.cpu["parse_feed"],
        "match_s": matcher.cpu,
        "compile_s": compile_s,
    }


def _pipeline_child(conn: Any, config_path: Path, core: int, profile: bool) -> None:
    os.sched_setaffinity(0, {core})
    conn.send(asyncio.run(_poll_once(config_path, profile)))


def _naive_child(conn: Any, urls: list[str], rules: list[Rule], core: int, db: Path) -> None:
    """One page after the other: GET, trafilatura.extract, regex rules, INSERT + COMMIT."""
    import trafilatura

    from bench.matching_rules import NaiveRule, naive_match
    from monitor.model import Document

    os.sched_setaffinity(0, {core})
    naive = [NaiveRule.of(r) for r in rules]
    trafilatura.extract(load_pages(1)[0])
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE articles (url TEXT PRIMARY KEY, text TEXT, rules TEXT)")
    extract_s = 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for url in urls:
        with urllib.request.urlopen(url, timeout=60) as response:
            html = response.read()
        start = time.process_time()
        text = trafilatura.extract(html) or ""
        extract_s += time.process_time() - start
        hits = naive_match(naive, Document("", text))
        con.execute("INSERT INTO articles VALUES (?, ?, ?)", (url, text, ",".join(hits)))
        con.commit()
    con.close()
    conn.send(
        {
            "wall_s": time.perf_counter() - wall0,
            "cpu_s": time.process_time() - cpu0,
            "extract_s": extract_s,
        }
    )


def _in_child(target: Callable[..., None], *args: Any) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(send, *args))
    proc.start()
    result: dict[str, Any] = recv.recv()
    proc.join()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--naive-pages", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    cores = sorted(os.sched_getaffinity(0))
    core, farm_core = cores[0], cores[-1]
    spec = FarmSpec(feeds=args.feeds, items=args.items, hosts=min(args.feeds, 20))
    rules = corpus_rules(args.rules)
    ctx = multiprocessing.get_context("spawn")
    ports_q = ctx.Queue()
    farm = ctx.Process(target=serve, args=(spec, ports_q, farm_core), daemon=True)
    farm.start()
    try:
        _t0, ports = ports_q.get(timeout=60)
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(
                Path(tmp) / "config.yaml",
                urls=feed_urls(spec, ports),
                rules=rules,
                http={"allow_networks": ["127.0.0.0/8"], "timeout": "60s"},
                defaults={"backfill": "3650d"},
            )
            ours = _in_child(_pipeline_child, config, core, args.profile)
            base = feed_urls(spec, ports)[0].rsplit("/feed/", 1)[0]
            pages = [f"{base}/page/0/{k}" for k in range(1, args.naive_pages + 1)]
            naive = _in_child(_naive_child, pages, rules, core, Path(tmp) / "naive.db")
    finally:
        farm.terminate()
        farm.join()
    _report(args, ours, naive, len(cores) > 1)


def _report(
    args: argparse.Namespace, ours: dict[str, Any], naive: dict[str, Any], split: bool
) -> None:
    n, cpu = ours["articles"], ours["cpu_s"]
    print(
        f"end to end on one core: {args.feeds} feeds × {args.items} items, {args.rules:,} rules "
        f"(compiled in {ours['compile_s']:.1f} s, outside the clock)"
        + ("" if split else "; WARNING: one core only, the farm shares it")
    )
    print(
        f"  monitor   {n} entries stored in {ours['wall_s']:.1f} s: {n / ours['wall_s']:6.1f} "
        f"entries/s wall, {n / cpu:6.1f} per CPU-second ({cpu:.1f} CPU-s, daemon + worker)"
    )
    print(
        f"            {ours['from_page']} with the page's text, {n - ours['from_page']} fell back "
        f"to the feed summary; {ours['matched']} matched a rule; {ours['errors']} feed errors"
    )
    other = cpu - ours["extract_s"] - ours["parse_s"] - ours["match_s"]
    print(
        f"  CPU share extraction {ours['extract_s'] / cpu:5.1%} "
        f"({ours['extract_s'] / max(n, 1) * 1000:.1f} ms/entry), feed parsing "
        f"{ours['parse_s'] / cpu:5.1%}, matching {ours['match_s'] / cpu:5.1%} "
        f"({ours['match_s'] / max(n, 1) * 1000:.1f} ms/entry), the rest (HTTP, store, "
        f"scheduling) {other / cpu:5.1%}"
    )
    print(
        f"  ceiling   {1 / (ours['extract_s'] / max(n, 1)):6.1f} entries/s if extraction were all "
        "the work (one core)"
    )
    k = args.naive_pages
    print(
        f"  naive     {k} pages in {naive['wall_s']:.1f} s: {k / naive['wall_s']:6.1f} pages/s "
        f"(urllib + trafilatura.extract + {args.rules:,} regex rules + SQLite commit, "
        f"sequential; extraction {naive['extract_s'] / naive['cpu_s']:.0%} of its CPU)"
    )
    print(
        f"  ratio     ×{(n / ours['wall_s']) / (k / naive['wall_s']):.1f} the naive entries/s "
        f"(target: at least 100 entries/s)"
    )


if __name__ == "__main__":
    main()
