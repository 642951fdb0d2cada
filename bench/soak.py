"""Soak: ``monitor run`` as a real subprocess against a live news farm, an hour by default.

The farm (``bench.newsfarm``, live mode, its own process) serves ``--feeds`` feeds of
``--items`` items over ``--hosts`` loopback hosts; each feed publishes 10 % new items per
``--interval``, every tenth new item matches an immediate-alert rule, and the feeds of the
last 10 % of the hosts misbehave (slow, 500, malformed, 429 with Retry-After, endless
body). The daemon runs with ``--rules`` rules (generated, notifying a daily digest, plus the
alert rule, whose immediate digest goes to a webhook on the farm), the default HTTP limits
(16 requests at once, 2 per host) and ``daemon.tick: 5s``. Every ``--sample`` seconds the
CPU time and resident memory of the daemon and its worker processes are read from ``/proc``.

Reported, against the targets: the poll cycle (all feeds due at once at start: time to
attempt them all) and how far apart, in intervals, a feed's steady-state polls come; CPU
cores on average; resident memory at start (after the first interval), peak, end and growth
per hour; the share of feeds attempted within twice their interval; detection-to-delivery
latency of immediate alerts (webhook arrival minus the farm's serving of the feed that first
showed the item).
There is no naive baseline for the soak: the figures are judged against the targets.

Run: ``python -m bench.soak`` (``make soak``: 60 minutes, 1,000 feeds × 50 items, 200
rules, 5-minute interval); ``python -m bench.soak --minutes 3`` is a quick check: with
neither ``--feeds`` nor ``--interval`` given, a run shorter than 15 minutes polls
proportionally fewer feeds more often (200 feeds every minute for 3 minutes), so the polls
and new articles per second stay those of the full soak.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.benchconfig import corpus_rules, feed_urls, write_config
from bench.farmserver import fetch_stats, serve
from bench.newsfarm import ALERT_WORD, FarmSpec
from bench.proctree import cpu_seconds, descendants, pss_bytes, rss_bytes
from bench.soak_report import Sample, report
from monitor.config.units import parse_duration

SECRET = "whsec_" + "c29hay1iZW5jaG1hcmstc2VjcmV0LXNvYWstYmVuY2htYXJr"


def _config(path: Path, spec: FarmSpec, ports: dict[str, int], rules: int, tick: str) -> Path:
    interval = f"{spec.interval:.0f}s"
    hook = f"http://127.0.1.1:{ports['127.0.1.1']}/hook"
    return write_config(
        path,
        urls=feed_urls(spec, ports),
        rules=corpus_rules(rules - 1),
        extra_rules=[{"name": "alert", "query": f"title:{ALERT_WORD}", "notify": ["urgent"]}],
        defaults={"poll_interval": interval, "min_interval": interval},
        digests=[
            {"name": "daily", "schedule": "0 7 * * *", "channels": ["files"]},
            {"name": "urgent", "immediate": True, "channels": ["hook"]},
        ],
        channels={
            "files": {"type": "file", "path": "digests/"},
            "hook": {"type": "webhook", "url": hook, "secret": SECRET},
        },
        daemon={"tick": tick, "watch_config": False},
    )


def _sample(pid: int, start: float) -> Sample:
    tree = descendants(pid)
    return Sample(
        t=time.time() - start,
        cpu=cpu_seconds(tree),
        rss=rss_bytes(pid),
        tree_pss=sum(pss_bytes(p) for p in tree),
        processes=len(tree),
    )


def _log_counts(log: str) -> dict[str, int]:
    """Counts from the daemon's JSON log lines (one feed poll per task: ``feed.polled`` when it
    stored new articles, ``feed.failed`` when it failed)."""
    events: list[dict[str, object]] = []
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    polled = [e for e in events if e.get("event") == "feed.polled"]
    failed = sum(1 for e in events if e.get("event") == "feed.failed")
    return {
        "ticks": sum(1 for e in events if e.get("event") == "feed.polled") + failed,
        "polls": len(polled) + failed,
        "articles": sum(int(str(e.get("articles", 0))) for e in polled),
        "failed": failed,
        "skipped_ticks": log.count("maximum number of running instances reached"),
        "tracebacks": log.count("Traceback"),
    }


def _scaled(seconds: float, interval: str | None, feeds: int | None) -> tuple[float, int]:
    """The interval and feed count. A run shorter than three default intervals, with neither
    given, gets a shorter interval and proportionally fewer feeds: the same polls and new
    articles per second as 1,000 feeds every 5 minutes, and several polls of each feed."""
    if interval is not None or feeds is not None:
        every = parse_duration(interval or "5m").total_seconds()
        return every, feeds or 1000
    every = min(300.0, max(30.0, seconds / 3 // 30 * 30))
    if every < 300:
        print(
            f"short run: {round(1000 * every / 300)} feeds every {every:.0f} s, the same load "
            "as 1,000 feeds every 5 minutes"
        )
    return every, round(1000 * every / 300)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--feeds", type=int, help="default 1,000 (fewer on a short run)")
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--interval", help="poll interval of every feed (default 5m)")
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--tick", default="5s", help="daemon.tick")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument(
        "--daemon-cpus",
        help="pin the daemon and its workers to these CPUs (e.g. 0) and the farm to the others",
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the state, config, log and farm records (stats.json) here"
    )
    args = parser.parse_args(argv)

    interval, args.feeds = _scaled(args.minutes * 60, args.interval, args.feeds)
    spec = FarmSpec(
        feeds=args.feeds, items=args.items, hosts=args.hosts, interval=interval, misbehave=0.1
    )
    ctx = multiprocessing.get_context("spawn")
    ports_q = ctx.Queue()
    daemon_cpus, farm_cpus = _cpu_split(args.daemon_cpus)
    farm = ctx.Process(target=_serve_on, args=(farm_cpus, spec, ports_q), daemon=True)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        farm.start()
        try:
            _t0, ports = ports_q.get(timeout=60)
            config = _config(workdir / "config.yaml", spec, ports, args.rules, args.tick)
            log_path = workdir / "monitor.log"
            result = _run(config, log_path, args.minutes * 60, args.sample, daemon_cpus)
            stats = fetch_stats(ports)
            result["farm_cpu"] = cpu_seconds([farm.pid]) if farm.pid else 0.0
            samples = [asdict(x) for x in result["samples"]]
            (workdir / "stats.json").write_text(json.dumps({**stats, "samples": samples}))
        finally:
            farm.terminate()
            farm.join()
        log = log_path.read_text(encoding="utf-8", errors="replace")
    report(args, spec, stats, result, _log_counts(log))


def _cpu_split(spec: str | None) -> tuple[set[int] | None, set[int] | None]:
    """The daemon's CPUs from ``--daemon-cpus`` and the farm's (all the others)."""
    if spec is None:
        return None, None
    mine = {int(c) for c in spec.split(",")}
    others = set(os.sched_getaffinity(0)) - mine
    if not mine or not others:
        raise SystemExit(f"--daemon-cpus {spec}: must leave the farm at least one CPU")
    return mine, others


def _serve_on(cpus: set[int] | None, spec: FarmSpec, ports_q: Any) -> None:
    """The farm, pinned before it starts any thread."""
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    serve(spec, ports_q)


def _run(
    config: Path, log_path: Path, seconds: float, every: float, cpus: set[int] | None = None
) -> dict[str, Any]:
    """Run the daemon for ``seconds`` (on ``cpus``, which its workers inherit), sampling it;
    stop it with SIGTERM."""
    with log_path.open("w", encoding="utf-8") as log:
        start = time.time()
        pin = [] if cpus is None else ["taskset", "-c", ",".join(map(str, sorted(cpus)))]
        daemon = subprocess.Popen(
            [*pin, sys.executable, "-m", "monitor", "run", "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=config.parent,
        )
        samples: list[Sample] = []
        try:
            while time.time() - start < seconds and daemon.poll() is None:
                samples.append(_sample(daemon.pid, start))
                time.sleep(every)
            alive = daemon.poll() is None
            daemon.send_signal(signal.SIGTERM)
            stop = time.time()
            code = daemon.wait(timeout=120)
            stopped = time.time() - stop
        finally:
            if daemon.poll() is None:
                daemon.kill()
    return {
        "start": start,
        "end": stop,
        "samples": samples,
        "alive": alive,
        "exit_code": code,
        "stop_s": stopped,
    }


if __name__ == "__main__":
    main()
