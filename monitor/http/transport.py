"""An httpx transport whose every TCP connection goes through the SSRF guard.

``GuardedBackend`` wraps httpcore's AnyIO network backend: it resolves the host, refuses
it when any address fails the guard, and connects to the address it checked (never to a
second DNS answer), which defeats DNS rebinding. TLS SNI, certificate checks and the Host
header still use the hostname, because httpcore takes them from the request origin, not
from the socket. ``GuardedTransport`` is httpx's transport interface over an httpcore
connection pool built on that backend; httpx 0.28 has no public knob for the backend.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any

import httpcore
import httpx
from httpcore import AsyncConnectionInterface

from monitor.http.guard import IPNetwork, resolve_checked


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check, then connect to the checked address."""

    def __init__(self, allow: Sequence[IPNetwork] = ()) -> None:
        self._allow = tuple(allow)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Open a TCP stream to ``host``; ``AddressRefused`` before any connection if refused."""
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve_checked(host.strip("[]"), port, self._allow)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
                return _Stream(stream)
            except httpcore.ConnectError as exc:
                failure = httpcore.ConnectError(f"cannot connect to {address} port {port}: {exc}")
        raise failure or httpcore.ConnectError(f"no address for {host!r}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Never used: monitor talks TCP only."""
        raise httpcore.ConnectError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        """Delegate to the wrapped backend."""
        await self._inner.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's stream with its socket looked up once.

    Whenever the pool assigns a request it asks every idle connection whether its socket is
    readable (the server hung up); AnyIO answers the socket lookup by rebuilding its table of
    attributes, a ``getpeername`` call each time. Everything else is delegated.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._socket)
        return self._inner.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    """Whether a read would not block: data, or the end of the stream (a gone socket)."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's HTTP/1.1 pool with a linear assignment of queued requests to connections.

    httpcore 1.0 scans every connection for every queued request, counts the pool once per
    idle connection, and can hand one idle connection to two queued requests (the loser
    retries); with dozens of requests in flight that cost more CPU than the transfers. The
    policy is httpcore's: drop closed, expired and surplus idle connections; reuse an idle
    connection to the origin; else open one while under the limit; else replace an idle
    connection to another origin; else wait. Relies on httpcore 1.0 internals (pinned).
    """

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing: list[AsyncConnectionInterface] = []
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(self._connections) > self._max_keepalive_connections
            ):
                self._connections.remove(connection)
                closing.append(connection)
        taken = {id(r.connection) for r in self._requests if r.connection is not None}
        free = [c for c in self._connections if id(c) not in taken and c.is_available()]
        for request in self._requests:
            if not request.is_queued():
                continue
            origin = request.request.url.origin
            reuse = next((c for c in free if c.can_handle_request(origin)), None)
            if reuse is None and len(self._connections) >= self._max_connections:
                spare = next((c for c in free if c.is_idle()), None)
                if spare is None:
                    continue  # stays queued until a connection is released
                free.remove(spare)
                self._connections.remove(spare)
                closing.append(spare)
            if reuse is None:
                reuse = self.create_connection(origin)
                self._connections.append(reuse)
            else:
                free.remove(reuse)
            request.assign_to_connection(reuse)
        return closing


class GuardedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore pool that connects only through ``GuardedBackend``.

    httpcore exceptions pass through unmapped; the client maps them once.
    """

    def __init__(self, allow: Sequence[IPNetwork], max_connections: int) -> None:
        self._pool = _Pool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the guarded pool."""
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._pool.aclose()
