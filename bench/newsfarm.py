"""A news farm for the benchmarks: feeds and article pages on many loopback hosts, and a
webhook receiver, served from a process of its own by ``bench.farmserver``.

Feed ``n`` lives on host ``127.0.1.(n % hosts + 1)`` (one server per address, port 0), so
the daemon's per-host limits and per-host boilerplate learning see many sites, as in real
life. Its items link to pages on the same host; each page is a real news page
(scrapinghub-aeb, round-robin) with a unique token put into every paragraph, so a page
served again is a new article, not a paragraph the host repeats (which the extractor would
learn as boilerplate).

Two modes:

- static (``interval=None``): every feed shows ``items`` fresh items, always the same;
- live: each feed publishes ``items × new_share`` items per ``interval``, spread evenly and
  at a different phase per feed; items from before the start are a month old (the first poll
  records them as a baseline). One new item in ``alert_every`` (item k of feed n when
  n + k is a multiple of it) has ``ALERT_WORD`` in a title of random words and a page of
  its own, made of feed-entry texts of the corpus, so that no two alerts are near-duplicates
  (which the digests would rightly merge or drop). The hosts of the last
  ``misbehave`` share misbehave, one way per host: ``slow`` (feeds answer after
  ``slow_seconds``), ``error`` (500), ``malformed`` (an HTML error page or a truncated
  feed), ``ratelimit`` (429 with Retry-After) and ``huge`` (an endless body). All five ways
  need five misbehaving hosts (50 hosts at 10 %).

The farm records every feed request (time, status), the time each new item was first served
in a feed, and the first arrival of each item in a webhook POSTed to ``/hook``;
``GET /_stats`` on the first host returns them as JSON.
"""

from __future__ import annotations

import gzip
import html
import json
import math
import random
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DATA = SHARED / "articles"
SNIPPETS = SHARED / "corpus" / "rss-link-db-2023q4-world-news.jsonl"
PARAGRAPHS = 8
ALERT_WORD = "quokkaflare"
MODES = ("slow", "error", "malformed", "ratelimit", "huge")
_PARA = re.compile(rb"(<p\b[^>]*>)", re.IGNORECASE)
_PAGE = re.compile(r"^/page/(\d+)/(-?\d+)$")


@dataclass(frozen=True)
class FarmSpec:
    feeds: int
    items: int = 50
    hosts: int = 50
    interval: float | None = None
    new_share: float = 0.1
    misbehave: float = 0.0
    slow_seconds: float = 10.0
    alert_every: int = 10
    huge_bytes: int = 11 << 20

    def host_ip(self, n: int) -> str:
        return f"127.0.1.{n % self.hosts + 1}"

    def mode(self, n: int) -> str | None:
        """How feed ``n`` misbehaves (None: it does not)."""
        bad_hosts = round(self.hosts * self.misbehave)
        h = n % self.hosts
        return MODES[(self.hosts - 1 - h) % len(MODES)] if h >= self.hosts - bad_hosts else None


def load_pages(limit: int = 181) -> list[bytes]:
    root = DATA / "scrapinghub-aeb"
    keys = list(json.loads((root / "ground-truth.json").read_text(encoding="utf-8")))[:limit]
    return [gzip.decompress((root / "html" / f"{k}.html.gz").read_bytes()) for k in keys]


def load_snippets() -> list[str]:
    """Title and text of each feed-entry record of the corpus, one string each."""
    with SNIPPETS.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    return [f"{r.get('title') or ''}. {r.get('text') or ''}".strip() for r in rows]


def item_of(url: str) -> str | None:
    """``"n/k"`` of a farm page URL, None for any other URL."""
    path = url.split("://", 1)[-1].partition("/")[2]
    match = _PAGE.match("/" + path)
    return f"{match.group(1)}/{match.group(2)}" if match else None


class Farm:
    """The farm's state: the timeline of each feed and what was recorded."""

    def __init__(self, spec: FarmSpec, ports: dict[str, int]) -> None:
        self.spec = spec
        self.ports = ports
        self.t0 = time.time()
        self.pages = load_pages()
        self.snippets = load_snippets() if spec.interval else []
        self.words = sorted(
            {
                w
                for t in self.snippets[:5000]
                for w in t.lower().split()
                if w.isalpha() and len(w) > 4
            }
        )
        self.step = (
            spec.interval / max(1, round(spec.items * spec.new_share)) if spec.interval else 0
        )
        self.lock = threading.Lock()
        self.feed_requests: dict[int, list[tuple[float, int]]] = {}
        self.first_served: dict[str, float] = {}
        self.arrivals: dict[str, float] = {}
        self.pages_served = 0

    def phase(self, n: int) -> float:
        return (n * 7919 % 1000) / 1000

    def latest(self, n: int, now: float) -> int:
        if not self.spec.interval:
            return self.spec.items
        return math.floor((now - self.t0) / self.step + self.phase(n))

    def published(self, n: int, k: int) -> float:
        if not self.spec.interval:
            return self.t0
        if k <= 0:
            return self.t0 - 30 * 86400 + k * 60
        return self.t0 + (k - self.phase(n)) * self.step

    def is_alert(self, n: int, k: int) -> bool:
        return bool(self.spec.interval) and k > 0 and (n + k) % self.spec.alert_every == 0

    def ordinal(self, n: int, k: int) -> int:
        """A number of its own for each alert item."""
        return (n + k) // self.spec.alert_every * self.spec.feeds + n

    def title(self, n: int, k: int) -> str:
        """Alert titles are six random words and ``ALERT_WORD``: no two are near-copies
        (digests rightly drop a story whose title nearly repeats one already sent)."""
        if not self.is_alert(n, k):
            return f"Story {n}-{k} on the wires"
        words = random.Random(self.ordinal(n, k)).sample(self.words, 6)
        return " ".join([words[0].capitalize(), *words[1:], ALERT_WORD])

    def base(self, n: int) -> str:
        ip = self.spec.host_ip(n)
        return f"http://{ip}:{self.ports[ip]}"

    def feed_body(self, n: int, latest: int) -> bytes:
        base = self.base(n)
        parts = [
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>Feed {n}</title><link>{base}/</link><description>farm</description>"
        ]
        for k in range(latest, latest - self.spec.items, -1):
            stamp = format_datetime(datetime.fromtimestamp(self.published(n, k), UTC))
            parts.append(
                f"<item><title>{html.escape(self.title(n, k))}</title>"
                f"<link>{base}/page/{n}/{k}</link><guid isPermaLink='false'>{n}-{k}</guid>"
                f"<description>Summary of story {n}-{k}.</description>"
                f"<pubDate>{stamp}</pubDate></item>"
            )
        parts.append("</channel></rss>")
        return "".join(parts).encode()

    def page(self, n: int, k: int) -> bytes:
        if self.is_alert(n, k):
            return self.alert_page(n, k)
        raw = self.pages[(n * self.spec.items + k) % len(self.pages)]
        return _PARA.sub(rb"\1ref" + f"{n}x{k}".replace("-", "m").encode() + b" ", raw)

    def alert_page(self, n: int, k: int) -> bytes:
        """A page of its own for an alert item: distinct corpus snippets as paragraphs, so no
        two alerts are near-duplicates (the digests would rightly merge those)."""
        start = self.ordinal(n, k) * PARAGRAPHS % max(1, len(self.snippets) - PARAGRAPHS)
        paragraphs = "".join(
            f"<p>{html.escape(t)}</p>" for t in self.snippets[start : start + PARAGRAPHS]
        )
        title = html.escape(self.title(n, k))
        return (
            f"<!doctype html><html><head><title>{title}</title></head><body>"
            "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
            f"<article><h1>{title}</h1>{paragraphs}</article>"
            "<footer><p>Copyright the farm. All rights reserved.</p></footer></body></html>"
        ).encode()

    def record_feed(self, n: int, status: int, now: float, latest: int | None) -> None:
        with self.lock:
            self.feed_requests.setdefault(n, []).append((now, status))
            if latest is not None and self.spec.interval:
                for k in range(max(1, latest - self.spec.items + 1), latest + 1):
                    self.first_served.setdefault(f"{n}/{k}", now)

    def record_hook(self, payload: Any, now: float) -> None:
        urls = []
        for group in payload.get("data", {}).get("groups", []):
            for story in group.get("stories", []):
                urls.append(story.get("url") or "")
                urls.extend(s.get("url") or "" for s in story.get("sources", []))
        with self.lock:
            for url in urls:
                item = item_of(url)
                if item is not None:
                    self.arrivals.setdefault(item, now)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "t0": self.t0,
                "feed_requests": {str(n): v for n, v in self.feed_requests.items()},
                "first_served": dict(self.first_served),
                "arrivals": dict(self.arrivals),
                "pages_served": self.pages_served,
            }
