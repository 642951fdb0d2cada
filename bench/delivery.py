"""Delivery benchmark: render and send N digests of M stories to a local SMTP server and a
local webhook receiver, ours against a naive baseline, each in a fresh spawned process.

Stories are BBC articles (``shared/data/corpus``), 50 distinct ones per digest, each with
match evidence and a highlighted snippet. Receivers run in the parent: aiosmtpd on
127.0.0.1 and a threaded HTTP server answering 204; both count what arrived (and the
distinct Message-IDs / webhook-ids) and throw the bodies away.

- ours: one ``Templates`` (compiled templates cached), each digest built, rendered and
  written to the outbox of a SQLite store (one transaction per digest, two rows: mail and
  webhook), then drained by ``relay_once`` (lease, send, mark delivered; the two channels in
  parallel, the webhook over one kept-alive HTTP connection pool).
- naive: what a first version would do: a fresh Jinja environment for every digest
  (templates compiled each time), build and render, then send straight away without any
  outbox: one SMTP connection per message (as ours) and a new HTTP client (new connection)
  for every webhook POST, one after the other.

Reported per variant: digests per second (render, send and total), peak memory (max RSS of
the process, and its growth over the process after imports and corpus loading).

Run: ``python -m bench.delivery`` (1,000 digests × 50 stories: a few minutes on 2 cores);
``--digests 100`` for a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import random
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "corpus"
BBC = CORPUS / "bbc-news-2004-2005.jsonl"
NOW = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
SECRET = "whsec_" + "YmVuY2htYXJrLXNlY3JldC1iZW5jaG1hcmstc2VjcmV0"


def _max_rss() -> int:
    """Peak resident memory of this process, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _articles() -> list[dict[str, Any]]:
    with BBC.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _entries(articles: list[dict[str, Any]], digest: int, stories: int) -> list[Any]:
    """The queued matches of digest number ``digest``: ``stories`` distinct articles."""
    from monitor.store.records import DigestEntry

    entries = []
    for j in range(stories):
        n = (digest * stories + j) % len(articles)
        a = articles[n]
        text = a["text"][:3000]
        words = text.split()
        term = max(words[:60], key=len).strip(".,;:'\"()").lower() or "the"
        at = text.lower().find(term)
        snippet = text[max(0, at - 120) : at + 120] if at >= 0 else text[:240]
        s_at = snippet.lower().find(term)
        highlights = [[s_at, s_at + len(term)]] if s_at >= 0 else []
        evidence = {
            "rule": "bench",
            "priority": j % 3,
            "group": ["Business", "Politics", "World"][j % 3],
            "terms": [term],
            "hits": [],
            "snippets": [{"field": "text", "text": snippet, "highlights": highlights}],
            "novel_actors": [],
        }
        url = f"https://news.example/{a['id']}/{digest}"
        entries.append(
            DigestEntry(
                queue_id=digest * stories + j + 1,
                digest="bench",
                rule="bench",
                evidence=evidence,
                enqueued_at=NOW - timedelta(minutes=5),
                article_id=digest * stories + j + 1,
                feed=a["id"].split("-")[1],
                url=url,
                canonical_url=url,
                title=a["title"],
                text=text,
                published=NOW - timedelta(minutes=j),
                language="en",
                author=None,
                tags=(),
                content_hash=hashlib.sha256(f"{digest}:{n}".encode()).hexdigest(),
                fetched_at=NOW - timedelta(minutes=j),
            )
        )
    return entries


def _channels(smtp_port: int, hook_url: str, http: Any) -> dict[str, Any]:
    from monitor.channels.email import EmailChannel
    from monitor.channels.webhook import WebhookChannel
    from monitor.config import schema

    mail = schema.EmailChannel.model_validate(
        {"type": "email", "host": "127.0.0.1", "port": smtp_port, "tls": "none",
         "from": "Monitor <monitor@example.org>", "to": ["desk@example.org"]}
    )  # fmt: skip
    hook = schema.WebhookChannel.model_validate(
        {"type": "webhook", "url": hook_url, "secret": SECRET}
    )
    return {"mail": EmailChannel("mail", mail), "hook": WebhookChannel("hook", hook, http)}


def _settings() -> Any:
    from monitor.config.schema import HttpSettings

    return HttpSettings.model_validate({"allow_networks": ["127.0.0.1/32"], "per_host": 4})


def run_ours(digests: int, stories: int, smtp_port: int, hook_url: str) -> dict[str, float]:
    """Render into the outbox of a SQLite store, then drain it with the relay."""
    from monitor.config.schema import Digest
    from monitor.delivery.digests import digest_records
    from monitor.delivery.policy import RetryPolicy
    from monitor.delivery.relay import relay_once
    from monitor.digests import Templates, build_digest, render_message
    from monitor.http import HttpClient
    from monitor.store import open_store

    articles = _articles()
    base = _max_rss()
    digest = Digest(name="bench", schedule="0 7 * * *", channels=("mail", "hook"))
    templates = Templates()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        t0 = time.perf_counter()
        for i in range(digests):
            built = build_digest(digest, _entries(articles, i, stories), now=NOW)
            message = render_message(built, templates)
            store.enqueue(list(digest_records(digest, f"bench@{i}", message)), NOW)
        t1 = time.perf_counter()

        async def drain() -> int:
            sent = 0
            async with HttpClient(_settings()) as http:
                channels = _channels(smtp_port, hook_url, http)
                while True:
                    report = await relay_once(
                        store, channels, RetryPolicy(), now=NOW, rng=random.Random(0)
                    )
                    sent += report.delivered
                    if report.claimed == 0:
                        return sent
                    if report.delivered < report.claimed:
                        raise RuntimeError(f"not delivered: {report.outcomes[:3]}")

        delivered = asyncio.run(drain())
        t2 = time.perf_counter()
        store.close()
    return {"render": t1 - t0, "send": t2 - t1, "messages": delivered, "rss": _max_rss(),
            "base_rss": base}  # fmt: skip


def run_naive(digests: int, stories: int, smtp_port: int, hook_url: str) -> dict[str, float]:
    """A fresh template environment per digest; send at once, a new connection each time."""
    from monitor.config.schema import Digest
    from monitor.digests import Templates, build_digest, render_message
    from monitor.http import HttpClient

    articles = _articles()
    base = _max_rss()
    digest = Digest(name="bench", schedule="0 7 * * *", channels=("mail", "hook"))
    render = send = 0.0
    delivered = 0

    async def deliver(message: Any, key: str) -> None:
        async with HttpClient(_settings()) as http:  # no connection reuse
            channels = _channels(smtp_port, hook_url, http)
            await channels["mail"].send(message, f"{key}:mail")
            await channels["hook"].send(message, f"{key}:hook")

    for i in range(digests):
        t0 = time.perf_counter()
        built = build_digest(digest, _entries(articles, i, stories), now=NOW)
        message = render_message(built, Templates())  # compiled again every time
        t1 = time.perf_counter()
        asyncio.run(deliver(message, f"digest:naive@{i}"))
        send += time.perf_counter() - t1
        render += t1 - t0
        delivered += 2
    return {"render": render, "send": send, "messages": delivered, "rss": _max_rss(),
            "base_rss": base}  # fmt: skip


class Counter:
    """What the receivers got: messages and distinct ids."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mail = 0
        self.mail_ids: set[str] = set()
        self.hooks = 0
        self.hook_ids: set[str] = set()


def _smtp(counter: Counter) -> Any:
    from aiosmtpd.controller import Controller

    from tests.receivers import free_port

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            data = bytes(envelope.original_content or b"")
            head = data.split(b"\r\n\r\n", 1)[0]
            mid = next((h for h in head.split(b"\r\n") if h.lower().startswith(b"message-id")), b"")
            with counter.lock:
                counter.mail += 1
                counter.mail_ids.add(mid.decode())
            return "250 OK"

    return Controller(Handler(), hostname="127.0.0.1", port=free_port(), data_size_limit=0)


def _http(counter: Counter) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with counter.lock:
                counter.hooks += 1
                counter.hook_ids.add(self.headers.get("webhook-id", ""))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def _report(name: str, digests: int, result: dict[str, float]) -> dict[str, float]:
    total = result["render"] + result["send"]
    figures = {
        "render_per_s": digests / result["render"],
        "send_per_s": digests / result["send"],
        "total_per_s": digests / total,
        "peak_mib": result["rss"] / 2**20,
        "growth_mib": (result["rss"] - result["base_rss"]) / 2**20,
    }
    print(
        f"{name:<6} render {figures['render_per_s']:7.1f}/s  send {figures['send_per_s']:7.1f}/s"
        f"  total {figures['total_per_s']:6.1f} digests/s ({total:6.1f} s)"
        f"  peak RSS {figures['peak_mib']:6.1f} MiB (+{figures['growth_mib']:.1f} over start)"
    )
    return figures


def _variants(order: str) -> Iterator[tuple[str, Any]]:
    pair = [("ours", run_ours), ("naive", run_naive)]
    yield from (pair if order == "ours" else pair[::-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digests", type=int, default=1000)
    parser.add_argument("--stories", type=int, default=50)
    parser.add_argument("--first", choices=["ours", "naive"], default="naive")
    args = parser.parse_args()
    counter = Counter()
    smtp = _smtp(counter)
    http = _http(counter)
    threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    smtp.start()
    hook_url = f"http://127.0.0.1:{http.server_address[1]}/hook"
    print(f"{args.digests} digests × {args.stories} stories → SMTP and a webhook (loopback)")
    results = {}
    try:
        context = multiprocessing.get_context("spawn")
        for name, fn in _variants(args.first):
            before = (counter.mail, counter.hooks)
            with context.Pool(1) as pool:
                result = pool.apply(fn, (args.digests, args.stories, smtp.port, hook_url))
            got = (counter.mail - before[0], counter.hooks - before[1])
            if got != (args.digests, args.digests):
                raise SystemExit(f"{name}: receivers got {got}, expected {args.digests} each")
            results[name] = _report(name, args.digests, result)
    finally:
        smtp.stop()
        http.shutdown()
    distinct = (len(counter.mail_ids), len(counter.hook_ids))
    print(f"receivers: {counter.mail} mails ({distinct[0]} Message-IDs), "
          f"{counter.hooks} webhooks ({distinct[1]} webhook-ids)")  # fmt: skip
    speedup = results["ours"]["total_per_s"] / results["naive"]["total_per_s"]
    print(f"ours/naive: {speedup:.2f}× digests per second end to end")


if __name__ == "__main__":
    main()
