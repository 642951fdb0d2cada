"""A real HTTP server on loopback for tests: serves fixtures and misbehaves on purpose.

Usage::

    with Farm() as farm:
        farm.add("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"})
        farm.add("/slow", body=b"x" * 100, drip=1.0)          # one byte a second
        farm.add("/r", status=302, headers={"Location": "/r"})  # redirect loop
        farm.add_handler("/dyn", lambda req: Reply(200, {}, b"..."))
        url = farm.url("/feed.xml")

Every request is recorded in ``farm.requests`` (method, path, headers) so tests can assert
what was asked (conditional GET headers, no request at all, ...). Binds port 0.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    drip: float = 0.0  # seconds between chunks of 1 byte when > 0
    close_early: bool = False  # declare a longer Content-Length and hang up


Handler = Callable[[Request], Reply]


class Farm:
    """A threaded HTTP/1.1 server on 127.0.0.1 (or another loopback address)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        farm = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:  # the client hung up mid-body (killed): no request
                    self.close_connection = True
                    return
                req = Request(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with farm._lock:
                    farm.requests.append(req)
                path = self.path.split("?", 1)[0]
                handler = farm.routes.get(self.path) or farm.routes.get(path)
                reply = handler(req) if handler else Reply(404, {}, b"not found")
                self._write(reply)

            def _write(self, reply: Reply) -> None:
                chunks = [reply.body] if isinstance(reply.body, bytes) else list(reply.body)
                total = sum(len(c) for c in chunks)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if "content-length" not in {k.lower() for k in reply.headers}:
                    self.send_header(
                        "Content-Length", str(total * 2 if reply.close_early else total)
                    )
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    for chunk in chunks:
                        if reply.drip > 0:
                            for i in range(len(chunk)):
                                self.wfile.write(chunk[i : i + 1])
                                self.wfile.flush()
                                time.sleep(reply.drip)
                        else:
                            self.wfile.write(chunk)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return
                if reply.close_early:
                    self.close_connection = True

            do_GET = _serve
            do_POST = _serve
            do_HEAD = _serve

        self._server = ThreadingHTTPServer((host, 0), _H)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # A short poll interval makes stop() return in ~20 ms instead of up to 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes | Iterable[bytes] = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        drip: float = 0.0,
        close_early: bool = False,
    ) -> None:
        reply = Reply(status, dict(headers or {}), body, drip, close_early)
        self.routes[path] = lambda _req: reply

    def add_handler(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def start(self) -> Farm:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Farm:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
