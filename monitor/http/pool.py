"""Kept-alive HTTP/1.1 connections, each pinned to the address the guard checked.

A connection is keyed by its origin (scheme, host, port) and the address it reached, and is
reused only for a request to the same origin whose host is (still) checked to that address.
Before reuse it must be idle, within its keep-alive time, and not hung up by the server
(``has_expired``). The protocol itself is httpcore's ``AsyncHTTP11Connection``.

At most ``limit`` connections are open: a new one first closes the longest idle one when
the limit is reached. Connections in use are bounded by the caller (``HttpClient`` holds one
of ``concurrency`` slots per request), so with ``limit = concurrency`` the cap holds.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Protocol

import httpcore

from monitor.http.guard import IPAddress

Key = tuple[bytes, bytes, int, IPAddress]  # scheme, host, port, address


class Connector(Protocol):
    """Open a TCP stream to one of the checked ``addresses`` of ``host``; say which."""

    async def __call__(
        self, host: str, addresses: Sequence[IPAddress], port: int, timeout: float | None
    ) -> tuple[httpcore.AsyncNetworkStream, IPAddress]: ...


SWEEP_SECONDS = 1.0
"""How often idle connections are looked over for expiry and hang-ups."""


class Pool:
    """Idle connections by origin and address; see the module docstring."""

    def __init__(
        self,
        connect: Connector,
        ssl_context: ssl.SSLContext,
        limit: int,
        keepalive_expiry: float,
    ) -> None:
        self._connect = connect
        self._ssl_context = ssl_context
        self._ssl_context.set_alpn_protocols(["http/1.1"])
        self._limit = limit
        self._keepalive_expiry = keepalive_expiry
        self._idle: dict[Key, list[tuple[float, httpcore.AsyncHTTP11Connection]]] = {}
        self._open = 0
        self._next_sweep = 0.0

    @property
    def open_connections(self) -> int:
        """Connections open now, idle or in use."""
        return self._open

    async def request(
        self, request: httpcore.Request, addresses: Sequence[IPAddress]
    ) -> httpcore.Response:
        """Send ``request`` over a reused or new connection to one of ``addresses``.

        The response's stream must be closed; that returns the connection to the pool.
        """
        await self._sweep()
        origin = request.url.origin
        found = await self._take(origin, addresses)
        if found is None:
            found = await self._open_connection(request, addresses)
        key, connection = found
        try:
            response = await connection.handle_async_request(request)
        except BaseException:
            self._released(key, connection)
            raise
        assert isinstance(response.stream, AsyncIterable)
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_Body(response.stream, lambda: self._released(key, connection)),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every idle connection (those in use close with their response)."""
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _since, connection in connections:
                self._open -= 1
                await connection.aclose()

    async def _take(
        self, origin: httpcore.Origin, addresses: Sequence[IPAddress]
    ) -> tuple[Key, httpcore.AsyncHTTP11Connection] | None:
        for address in addresses:
            key = (origin.scheme, origin.host, origin.port, address)
            idle = self._idle.get(key)
            while idle:
                _since, connection = idle.pop()
                if not idle:
                    del self._idle[key]
                if connection.is_idle() and not connection.has_expired():
                    return key, connection
                self._open -= 1  # the server hung up, or keep-alive is over
                await connection.aclose()
        return None

    async def _open_connection(
        self, request: httpcore.Request, addresses: Sequence[IPAddress]
    ) -> tuple[Key, httpcore.AsyncHTTP11Connection]:
        if self._open >= self._limit:
            await self._close_oldest_idle()
        origin = request.url.origin
        host = origin.host.decode("ascii")
        timeout = request.extensions.get("timeout", {}).get("connect")
        self._open += 1
        try:
            stream, address = await self._connect(host, addresses, origin.port, timeout)
            if origin.scheme == b"https":
                stream = await stream.start_tls(self._ssl_context, host, timeout)
        except BaseException:
            self._open -= 1
            raise
        connection = httpcore.AsyncHTTP11Connection(origin, stream, self._keepalive_expiry)
        return (origin.scheme, origin.host, origin.port, address), connection

    async def _close_oldest_idle(self) -> None:
        oldest: tuple[float, Key] | None = None
        for key, connections in self._idle.items():
            if oldest is None or connections[0][0] < oldest[0]:
                oldest = (connections[0][0], key)
        if oldest is not None:
            idle = self._idle[oldest[1]]
            _since, connection = idle.pop(0)
            if not idle:
                del self._idle[oldest[1]]
            self._open -= 1
            await connection.aclose()

    def _released(self, key: Key, connection: httpcore.AsyncHTTP11Connection) -> None:
        if connection.is_idle():
            self._idle.setdefault(key, []).append((time.monotonic(), connection))
        else:
            self._open -= 1  # httpcore closed it (error, or a body not read to its end)

    async def _sweep(self) -> None:
        """At most once a second, close idle connections that expired or were hung up."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_SECONDS
        for key, connections in list(self._idle.items()):
            keep = [(t, c) for t, c in connections if c.is_idle() and not c.has_expired()]
            if len(keep) == len(connections):
                continue
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
            for item in connections:
                if item not in keep:
                    self._open -= 1
                    await item[1].aclose()


class _Body:
    """A response body that hands its connection back once closed."""

    def __init__(self, stream: AsyncIterable[bytes], release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._stream, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()
