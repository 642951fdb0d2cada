"""Connections that go only to addresses the SSRF guard checked.

``GuardedTransport`` resolves and checks a request's host first (``CheckedAddresses``,
answers kept briefly) and sends it over a pool whose connections are each pinned to a
checked address (``monitor.http.pool``): ``GuardedBackend`` checks the address once more and
connects to it, never to a second DNS answer, which defeats DNS rebinding. A kept-alive
connection is reused only for the same scheme, host and port and an address the host is
checked to. TLS SNI, certificate checks and the Host header still use the hostname, because
httpcore takes them from the request origin, not from the socket.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Sequence
from typing import Any

import httpcore
import httpx

from monitor.http.guard import (
    AddressRefused,
    CheckedAddresses,
    IPAddress,
    IPNetwork,
    refusal,
)
from monitor.http.pool import Pool


class GuardedBackend:
    """Connects only to addresses that pass the guard, and says which one it reached."""

    def __init__(self, allow: Sequence[IPNetwork] = ()) -> None:
        self._allow = tuple(allow)
        self._inner = httpcore.AnyIOBackend()

    async def connect_checked(
        self, host: str, addresses: Sequence[IPAddress], port: int, timeout: float | None
    ) -> tuple[httpcore.AsyncNetworkStream, IPAddress]:
        """Connect to the first of ``addresses`` (of ``host``) that answers, and say which.

        Each is checked again first: ``AddressRefused`` before any connection if one fails.
        """
        for address in addresses:
            why = refusal(address, self._allow)
            if why is not None:
                raise AddressRefused(f"{host} ({address}) refused: {why}")
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(str(address), port, timeout)
            except httpcore.ConnectError as exc:
                failure = httpcore.ConnectError(f"cannot connect to {address} port {port}: {exc}")
                continue
            return _Stream(stream), address
        raise failure or httpcore.ConnectError(f"no address for {host!r}")


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's stream with its socket looked up once.

    Before an idle connection is reused the pool asks whether its socket is readable (the
    server hung up); AnyIO answers the socket lookup by rebuilding its table of attributes,
    a ``getpeername`` call each time. Everything else is delegated.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:  # httpcore writes the empty end of a body without one
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


class GuardedTransport:
    """Requests over kept-alive connections, each pinned to addresses the guard checked.

    ``request`` resolves and checks the host first (answers kept ``ttl`` seconds), then sends
    over a pooled connection to that origin and one of those addresses, or a new one
    (``monitor.http.pool``). httpcore exceptions pass through unmapped; the client maps them.
    """

    def __init__(self, allow: Sequence[IPNetwork], max_connections: int, ttl: float = 30.0) -> None:
        self.addresses = CheckedAddresses(allow, ttl)
        self.backend = GuardedBackend(allow)
        self.pool = Pool(
            self.backend.connect_checked,
            httpx.create_ssl_context(),
            limit=max_connections,
            keepalive_expiry=5.0,
        )

    async def request(
        self,
        method: str,
        url: httpx.URL,
        headers: list[tuple[bytes, bytes]],
        content: bytes | None,
        timeouts: dict[str, float],
    ) -> httpcore.Response:
        """Send one request; the response body still has to be read and closed."""
        if url.scheme not in ("http", "https"):
            raise httpcore.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}")
        host = url.host.strip("[]")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            async with asyncio.timeout(timeouts["connect"]):
                addresses = await self.addresses.get(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        target = httpcore.URL(
            scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
        )
        core = httpcore.Request(
            method,
            target,
            headers=headers,
            content=content or b"",
            extensions={"timeout": timeouts},
        )
        return await self.pool.request(core, addresses)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self.pool.aclose()
