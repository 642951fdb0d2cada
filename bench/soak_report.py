"""The figures of a soak run (``bench.soak``), computed from the farm's records, the
samples of the daemon's processes and its log, and printed against the targets."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from bench.newsfarm import FarmSpec

MiB = 1 << 20


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the daemon started
    cpu: float  # CPU seconds of the daemon and its live descendants (reaped ones included)
    rss: int  # resident bytes of the daemon process
    tree_pss: int  # proportional set size of the daemon and its workers, summed
    processes: int


def pct(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points (0 for fewer than two)."""
    if len(points) < 2:
        return 0.0
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def _verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def _schedule(spec: FarmSpec, stats: dict[str, Any], start: float, end: float) -> list[str]:
    interval = spec.interval or 0.0
    requests = {int(n): [t for t, _ in v] for n, v in stats["feed_requests"].items()}
    groups: dict[str, list[int]] = {}
    for n in range(spec.feeds):
        groups.setdefault(spec.mode(n) or "well-behaved", []).append(n)
    good = groups["well-behaved"]
    firsts = [requests[n][0] for n in good if requests.get(n)]
    gaps = [(b - a) / interval for n in good for a, b in pairwise(requests.get(n, []))]
    lines = []
    if firsts:
        cycle = max(firsts) - start
        lines.append(
            f"poll cycle: all {len(good)} well-behaved feeds due at start, attempted within "
            f"{cycle:.0f} s of the daemon starting (first feed after {min(firsts) - start:.1f} s, "
            f"{len(firsts)} attempted) — target under 60 s: {_verdict(cycle < 60)}"
        )
    if gaps:
        lines.append(
            f"steady state: a feed's polls came {pct(gaps, 50):.2f}× (p50), {pct(gaps, 99):.2f}× "
            f"(p99), {max(gaps):.2f}× (max) its interval apart ({len(gaps)} repeat polls; "
            "moving onto its own phase stretches a feed's first gaps, by design up to 1.8×)"
        )
    for name, feeds in groups.items():
        ok = 0
        for n in feeds:
            times = requests.get(n, [])
            gaps = [b - a for a, b in pairwise([start, *times, end])]
            ok += max(gaps) <= 2 * interval
        share = ok / len(feeds)
        target = f" — target 100 %: {_verdict(ok == len(feeds))}" if name == "well-behaved" else ""
        lines.append(
            f"attempted within 2× interval: {name:>12} {ok}/{len(feeds)} feeds ({share:.0%})"
            f"{target}"
        )
    return lines


def _rss(s: Sample) -> int:
    return s.rss


def _pss(s: Sample) -> int:
    return s.tree_pss


def _resources(samples: list[Sample], warm: float) -> list[str]:
    steady = [s for s in samples if s.t >= warm] or samples[-1:]
    first, last = samples[0], samples[-1]
    s0 = steady[0]
    all_cores = (last.cpu - first.cpu) / max(last.t - first.t, 1e-9)
    cores = (last.cpu - s0.cpu) / max(last.t - s0.t, 1e-9) if len(steady) > 1 else all_cores
    lines = [
        f"CPU: {all_cores:.2f} cores on average over the run, {cores:.2f} after the first "
        f"{warm:.0f} s (daemon + workers) — target under 1: {_verdict(max(all_cores, cores) < 1)}"
    ]
    for label, get in (("RSS daemon", _rss), ("PSS daemon + workers", _pss)):
        peak = max(get(s) for s in samples)
        growth = slope([(s.t, get(s)) for s in steady]) * 3600 / max(get(s0), 1)
        lines.append(
            f"{label}: {get(s0) / MiB:.0f} MiB at {s0.t:.0f} s, peak {peak / MiB:.0f} MiB, "
            f"end {get(last) / MiB:.0f} MiB; growth {growth:+.1%} per hour (fitted) — targets "
            f"under 512 MiB: {_verdict(peak < 512 * MiB)}, growth under 10 %/h: "
            f"{_verdict(growth < 0.10)}"
        )
    if last.t - s0.t < 1800:
        lines.append(
            f"(growth fitted over {(last.t - s0.t) / 60:.0f} minutes only: caches still filling, "
            "not a reliable hourly figure)"
        )
    lines.append(
        f"processes in the daemon's tree: {min(s.processes for s in samples)}–"
        f"{max(s.processes for s in samples)}"
    )
    return lines


def _latency(spec: FarmSpec, stats: dict[str, Any], end: float) -> list[str]:
    served: dict[str, float] = stats["first_served"]
    arrivals: dict[str, float] = stats["arrivals"]
    alerts = [i for i in served if sum(map(int, i.split("/"))) % spec.alert_every == 0]
    due = [i for i in alerts if served[i] < end - 60]
    delivered = [i for i in due if i in arrivals]

    def feed_mode(item: str) -> str | None:
        return spec.mode(int(item.split("/", maxsplit=1)[0]))

    lat = [arrivals[i] - served[i] for i in alerts if i in arrivals and feed_mode(i) is None]
    slow = [arrivals[i] - served[i] for i in alerts if i in arrivals and feed_mode(i) == "slow"]
    if not lat:
        return [f"latency: no immediate alert arrived ({len(due)} were due)"]
    return [
        f"detection → delivery (immediate alerts of well-behaved feeds, from the poll that "
        f"first saw the item to the webhook's arrival): p50 {pct(lat, 50):.2f} s, p90 "
        f"{pct(lat, 90):.2f} s, p99 {pct(lat, 99):.2f} s, max {max(lat):.2f} s over {len(lat)} "
        f"alerts — target p99 under 5 s: {_verdict(pct(lat, 99) < 5)}",
        *(
            [
                f"  the same for the slow feeds, whose answer the farm holds back "
                f"{spec.slow_seconds:.0f} s: p50 {pct(slow, 50):.2f} s, max {max(slow):.2f} s "
                f"over {len(slow)} alerts"
            ]
            if slow
            else []
        ),
        f"alerts delivered: {len(delivered)}/{len(due)} of those seen more than 60 s before "
        "the end",
    ]


def report(
    args: argparse.Namespace,
    spec: FarmSpec,
    stats: dict[str, Any],
    result: dict[str, Any],
    counts: dict[str, int],
) -> None:
    start, end = result["start"], result["end"]
    minutes = (end - start) / 60
    interval = spec.interval or 0.0
    print(
        f"soak: {minutes:.1f} min, {spec.feeds} feeds × {spec.items} items on {spec.hosts} "
        f"hosts, {interval:.0f} s interval, {spec.new_share:.0%} new per interval, "
        f"{args.rules} rules, 10 % of the feeds misbehaving; daemon.tick {args.tick}"
        + (
            f"; the daemon and its workers pinned to CPU {args.daemon_cpus}, the farm to the rest"
            if getattr(args, "daemon_cpus", None)
            else ""
        )
    )
    print(
        f"daemon: {counts['polls']} polls that stored news or failed "
        f"({counts['skipped_ticks']} ticks skipped), {counts['articles']} new articles stored, "
        f"{counts['failed']} failed polls, {stats['pages_served']} pages served; "
        f"{counts['tracebacks']} tracebacks in the log; exit {result['exit_code']} "
        f"{result['stop_s']:.1f} s after SIGTERM"
        + ("" if result["alive"] else " (IT DIED BEFORE THE END)")
    )
    print(
        f"the farm (same machine) used {result['farm_cpu'] / (end - start):.2f} cores; "
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    warm = min(interval, (end - start) / 3)
    for line in [
        *_schedule(spec, stats, start, end),
        *_resources(result["samples"], warm),
        *_latency(spec, stats, end),
    ]:
        print("  " + line)
    print("  (no naive baseline for the soak: the figures are judged against the targets)")
