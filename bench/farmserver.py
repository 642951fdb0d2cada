"""The HTTP side of the news farm (``bench.newsfarm``): one threaded server per loopback host,
the request handler (feeds, pages, misbehaviour, the webhook receiver, ``/_stats``), and the
farm process's entry point."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.newsfarm import Farm, FarmSpec


def _handler(farm: Farm) -> type[BaseHTTPRequestHandler]:
    spec = farm.spec

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/hook":
                farm.record_hook(json.loads(body), time.time())
            self.reply(204 if self.path == "/hook" else 404, b"", {})

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[0] == "_stats":
                self.reply(200, json.dumps(farm.stats()).encode(), {})
            elif parts[0] == "feed":
                self.feed(int(parts[1]))
            elif parts[0] == "page":
                with farm.lock:
                    farm.pages_served += 1
                self.reply(
                    200, farm.page(int(parts[1]), int(parts[2])), {"Content-Type": "text/html"}
                )
            else:
                self.reply(404, b"not found", {})

        def feed(self, n: int) -> None:
            mode = spec.mode(n)
            if mode == "slow":
                time.sleep(spec.slow_seconds)
            now = time.time()
            if mode in ("error", "ratelimit"):
                farm.record_feed(n, 500 if mode == "error" else 429, now, None)
                retry = (
                    {"Retry-After": str(int(spec.interval or 60))} if mode == "ratelimit" else {}
                )
                self.reply(500 if mode == "error" else 429, b"try later", retry)
                return
            if mode == "huge":
                farm.record_feed(n, 200, now, None)
                self.endless()
                return
            latest = farm.latest(n, now)
            etag = f'"{n}-{latest}"'
            if self.headers.get("If-None-Match") == etag:
                farm.record_feed(n, 304, now, None)
                self.reply(304, b"", {"ETag": etag})
                return
            body = farm.feed_body(n, latest)
            if mode == "malformed":
                farm.record_feed(n, 200, now, None)
                bad = (
                    body[: len(body) // 2]
                    if n // spec.hosts % 2
                    else b"<html><body>502 Bad Gateway</body></html>"
                )
                self.reply(200, bad, {"Content-Type": "application/rss+xml"})
                return
            farm.record_feed(n, 200, now, latest)
            self.reply(
                200, body, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag}
            )

        def endless(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b"<rss><channel><item><description>" + b"x" * (64 << 10)
            try:
                for _ in range(spec.huge_bytes // len(chunk) + 1):
                    self.wfile.write(chunk)
            except OSError:
                return

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (the daemon stops reading an endless body) are not errors."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(spec: FarmSpec, out: Any, core: int | None = None) -> None:
    """The farm process: start one server per host, send their ports to ``out``, serve."""
    if core is not None:
        os.sched_setaffinity(0, {core})
    servers, ports = [], {}
    for h in range(spec.hosts):
        ip = f"127.0.1.{h + 1}"
        server = _Server((ip, 0), BaseHTTPRequestHandler)
        servers.append(server)
        ports[ip] = server.server_address[1]
    farm = Farm(spec, ports)
    handler = _handler(farm)
    for server in servers:
        server.RequestHandlerClass = handler
        threading.Thread(target=server.serve_forever, args=(0.5,), daemon=True).start()
    out.put((farm.t0, ports))
    threading.Event().wait()


def fetch_stats(ports: dict[str, int]) -> dict[str, Any]:
    """The farm's records (``GET /_stats`` on its first host)."""
    import urllib.request

    ip = "127.0.1.1"
    with urllib.request.urlopen(f"http://{ip}:{ports[ip]}/_stats", timeout=60) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data
