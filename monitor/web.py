"""The optional health and metrics server (``http.listen``): /healthz, /readyz, /metrics.

A deliberately tiny HTTP/1.1 server on the daemon's own event loop (``asyncio.start_server``):
GET or HEAD only, one request per connection, the request head capped at ``MAX_HEAD`` bytes
and ``HEAD_TIMEOUT`` seconds, no request body read. It binds exactly the configured address.

- ``/healthz``: 200 while the process and its event loop are alive;
- ``/readyz``: 200 when the daemon is ready (``monitor.health.readiness``), else 503; the
  JSON body says why;
- ``/metrics``: the daemon's Prometheus registry (text format, or OpenMetrics if asked).

Store reads and the metrics exposition run in a worker thread, so a slow scrape never stalls
polling.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from http import HTTPStatus
from typing import Any

from monitor.config.units import parse_listen
from monitor.health import Readiness

log = logging.getLogger("monitor.web")

MAX_HEAD = 8192
HEAD_TIMEOUT = 5.0
PROBE_TIMEOUT = 10.0
JSON = "application/json"

ReadyProbe = Callable[[], Readiness]
MetricsProbe = Callable[[str], tuple[bytes, str]]
"""``accept header → (body, content type)``, e.g. ``Metrics.exposition``."""


class ListenError(RuntimeError):
    """The health server cannot bind the configured ``http.listen`` address."""


class HealthServer:
    """Serves the three endpoints on ``host:port`` (see the module docstring)."""

    def __init__(
        self, host: str, port: int, *, ready: ReadyProbe, metrics: MetricsProbe | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.ready = ready
        self.metrics = metrics
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port): the real port when 0 was asked for."""
        if self._server is None or not self._server.sockets:
            return self.host, self.port
        name = self._server.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    async def start(self) -> HealthServer:
        try:
            self._server = await asyncio.start_server(
                self._handle, self.host, self.port, limit=MAX_HEAD
            )
        except OSError as exc:
            raise ListenError(
                f"http.listen {self.host}:{self.port}: cannot listen: {exc.strerror or exc}"
            ) from None
        host, port = self.address
        log.warning(
            "serving /healthz, /readyz and /metrics on %s:%d",
            host,
            port,
            extra={"event": "http.listening", "host": host, "port": port},
        )
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> HealthServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                await _respond(writer, HTTPStatus.BAD_REQUEST, b"bad request\n", "text/plain")
                return
            method, path, headers = _parse(head)
            try:
                status, body, content_type = await self._route(method, path, headers)
            except Exception as exc:  # a failing probe is a 500, not a dropped connection
                log.exception(
                    "%s %s failed", method, path, extra={"event": "http.error", "path": path}
                )
                status, body, content_type = _failed(exc)
            await _respond(writer, status, body, content_type, head_only=method == "HEAD")
        except (ConnectionError, OSError):
            return  # the client went away; nothing to tell it
        finally:
            writer.close()

    async def _route(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[HTTPStatus, bytes, str]:
        if method not in ("GET", "HEAD"):
            return HTTPStatus.METHOD_NOT_ALLOWED, b"only GET and HEAD\n", "text/plain"
        if path == "/healthz":
            return HTTPStatus.OK, _json({"status": "ok"}), JSON
        if path == "/readyz":
            return await self._readyz()
        if path == "/metrics" and self.metrics is not None:
            body, content_type = await self._probe(self.metrics, headers.get("accept", ""))
            return HTTPStatus.OK, body, content_type
        return HTTPStatus.NOT_FOUND, b"not found: try /healthz, /readyz or /metrics\n", "text/plain"

    async def _readyz(self) -> tuple[HTTPStatus, bytes, str]:
        try:
            result = await self._probe(self.ready)
        except TimeoutError:
            result = Readiness(False, (f"the store did not answer within {PROBE_TIMEOUT:.0f} s",))
        data: dict[str, Any] = asdict(result)
        data["last_tick"] = result.last_tick.isoformat() if result.last_tick else None
        data["reasons"] = list(result.reasons)
        status = HTTPStatus.OK if result.ready else HTTPStatus.SERVICE_UNAVAILABLE
        return status, _json(data), JSON

    async def _probe(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), PROBE_TIMEOUT)


async def start_health_server(
    listen: str, *, ready: ReadyProbe, metrics: MetricsProbe | None = None
) -> HealthServer:
    """Start serving on ``listen`` (``host:port``); raises ListenError if it cannot bind."""
    host, port = parse_listen(listen)
    return await HealthServer(host, port, ready=ready, metrics=metrics).start()


def _failed(exc: Exception) -> tuple[HTTPStatus, bytes, str]:
    return HTTPStatus.INTERNAL_SERVER_ERROR, _json({"error": type(exc).__name__}), JSON


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False) + "\n").encode()


def _parse(head: bytes) -> tuple[str, str, dict[str, str]]:
    """Method, path (query dropped) and lower-cased headers of a request head."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    method, target = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return method.upper(), target.split("?", 1)[0], headers


async def _respond(
    writer: asyncio.StreamWriter,
    status: HTTPStatus,
    body: bytes,
    content_type: str,
    *,
    head_only: bool = False,
) -> None:
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n"
    )
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        head += "Allow: GET, HEAD\r\n"
    writer.write(head.encode("latin-1") + b"\r\n" + (b"" if head_only else body))
    await writer.drain()
