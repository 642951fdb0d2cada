"""Kept-alive connections: reused for the same origin and checked address, and only then."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpcore
import pytest

from monitor.config.schema import HttpSettings
from monitor.errors import BlockedAddressError, HTTPStatusError, TransportError
from monitor.http import HttpClient
from monitor.http.guard import AddressRefused, CheckedAddresses, IPAddress
from monitor.http.pool import Pool
from monitor.http.transport import GuardedBackend, GuardedTransport
from tests.receivers import make_ca

T = TypeVar("T")
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def settings(**values: Any) -> HttpSettings:
    return HttpSettings.model_validate({"allow_networks": ["127.0.0.0/8"], **values})


class Server:
    """A keep-alive HTTP/1.1 server that records each connection and answers with ``status``
    and its own address as the body (none for 304)."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status, self.delay = status, delay
        self.connections = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        me = writer.get_extra_info("sockname")[0].encode()
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                await asyncio.sleep(self.delay)
                if self.status == 304:
                    writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n')
                else:
                    head = b"HTTP/1.1 %d OK\r\nContent-Length: %d\r\n\r\n" % (self.status, len(me))
                    writer.write(head + me)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(
    server: Server, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    listener = await asyncio.start_server(server.handle, host, port, ssl=tls)
    async with listener:
        yield listener.sockets[0].getsockname()[1]


def test_a_connection_is_reused_for_the_same_host_also_after_a_304() -> None:
    modified, unmodified = Server(200), Server(304)

    async def scenario() -> None:
        async with (
            serving(modified) as a,
            serving(unmodified) as b,
            HttpClient(settings()) as client,
        ):
            for _ in range(3):
                first = await client.get(f"http://127.0.0.1:{a}/feed", max_bytes=100)
                again = await client.get(f"http://127.0.0.1:{b}/feed", max_bytes=100)
                assert (first.status, first.body, again.status) == (200, b"127.0.0.1", 304)

    run(scenario())
    assert (modified.requests, unmodified.requests) == (3, 3)
    assert (modified.connections, unmodified.connections) == (1, 1)


def _free_port_on_both(hosts: tuple[str, str]) -> int:
    """A port that is free on both loopback addresses (to serve one origin from each)."""
    for _ in range(20):
        with socket.socket() as a, socket.socket() as b:
            a.bind((hosts[0], 0))
            port = a.getsockname()[1]
            try:
                b.bind((hosts[1], port))
            except OSError:
                continue
            return int(port)
    raise RuntimeError("no common free port")


async def fetch(pool: Pool, url: str, address: str) -> bytes:
    """GET ``url`` through ``pool``, its host checked to ``address``; the body."""
    request = httpcore.Request(
        "GET",
        url,
        headers=[(b"Host", url.split("/")[2].encode())],
        extensions={"timeout": {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}},
    )
    response = await pool.request(request, (ipaddress.ip_address(address),))
    try:
        return b"".join([part async for part in response.aiter_stream()])
    finally:
        await response.aclose()


def test_a_connection_is_not_reused_once_the_host_is_checked_to_another_address() -> None:
    """Same scheme, host and port, but the host now resolves to another (checked) address:
    the kept-alive connection to the old address must not carry the request."""
    old, new = Server(), Server()
    port = _free_port_on_both(("127.0.0.1", "127.0.0.2"))

    async def get(pool: Pool, address: str) -> bytes:
        return await fetch(pool, f"http://feeds.example:{port}/feed", address)

    async def scenario() -> list[bytes]:
        async with serving(old, "127.0.0.1", port), serving(new, "127.0.0.2", port):
            transport = GuardedTransport(LOOPBACK, max_connections=4)
            try:
                pool = transport.pool
                return [
                    await get(pool, "127.0.0.1"),
                    await get(pool, "127.0.0.1"),
                    await get(pool, "127.0.0.2"),
                    await get(pool, "127.0.0.1"),
                ]
            finally:
                await transport.aclose()

    bodies = run(scenario())
    assert bodies == [b"127.0.0.1", b"127.0.0.1", b"127.0.0.2", b"127.0.0.1"]
    assert (old.connections, new.connections) == (1, 1)


def test_per_host_limit_bounds_the_connections_to_a_host() -> None:
    server = Server(delay=0.02)

    async def scenario() -> None:
        async with serving(server) as port, HttpClient(settings(concurrency=16, per_host=2)) as c:
            urls = [f"http://127.0.0.1:{port}/{i}" for i in range(12)]
            replies = await asyncio.gather(*(c.get(u, max_bytes=100) for u in urls))
        assert all(r.status == 200 for r in replies)

    run(scenario())
    assert server.requests == 12
    assert server.connections == 2


def test_connections_to_other_hosts_make_room_within_the_limit() -> None:
    servers = [Server() for _ in range(3)]

    async def scenario() -> list[int]:
        async with (
            serving(servers[0], "127.0.0.1") as a,
            serving(servers[1], "127.0.0.2") as b,
            serving(servers[2], "127.0.0.3") as c,
        ):
            open_after = []
            async with HttpClient(settings(concurrency=2, per_host=2)) as client:
                for host, port in (("127.0.0.1", a), ("127.0.0.2", b), ("127.0.0.3", c)) * 2:
                    await client.get(f"http://{host}:{port}/", max_bytes=100)
                    open_after.append(client._transport.pool.open_connections)
            return open_after

    assert max(run(scenario())) <= 2
    assert [s.connections for s in servers] == [2, 2, 2]  # the oldest idle one gave way


def test_an_unread_error_body_does_not_leave_its_connection_in_the_pool() -> None:
    server = Server(status=500)

    async def scenario() -> None:
        async with serving(server) as port, HttpClient(settings()) as client:
            for _ in range(2):
                with pytest.raises(HTTPStatusError, match="500"):
                    await client.get(f"http://127.0.0.1:{port}/", max_bytes=100)
            assert client._transport.pool.open_connections == 0

    run(scenario())
    assert server.connections == 2


class CountingAddresses(CheckedAddresses):
    """The real resolver, counting how often it resolves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lookups = 0

    async def _resolve(self, host: str, port: int) -> tuple[IPAddress, ...]:
        self.lookups += 1
        return await super()._resolve(host, port)


def test_checked_addresses_are_kept_for_their_ttl_and_shared_by_concurrent_lookups() -> None:
    now = [0.0]
    addresses = CountingAddresses(LOOPBACK, ttl=30.0, clock=lambda: now[0])

    async def scenario() -> None:
        answers = await asyncio.gather(*(addresses.get("127.0.0.1", 80) for _ in range(5)))
        assert set(answers) == {(ipaddress.ip_address("127.0.0.1"),)}
        assert addresses.lookups == 1
        now[0] = 29.0
        await addresses.get("127.0.0.1", 80)
        assert addresses.lookups == 1
        now[0] = 31.0
        await addresses.get("127.0.0.1", 80)
        assert addresses.lookups == 2

    run(scenario())


def test_refusals_are_not_kept() -> None:
    addresses = CountingAddresses([], ttl=30.0)

    async def scenario() -> None:
        for _ in range(2):
            with pytest.raises(AddressRefused, match="loopback"):
                await addresses.get("127.0.0.1", 80)

    run(scenario())
    assert addresses.lookups == 2


def test_a_refused_host_is_a_blocked_address_every_time() -> None:
    async def scenario() -> None:
        async with HttpClient(HttpSettings()) as client:
            for _ in range(2):
                with pytest.raises(BlockedAddressError, match="refused"):
                    await client.get("http://127.0.0.1:9/", max_bytes=10)

    run(scenario())


def test_https_connections_are_verified_and_kept_alive(tmp_path: Any) -> None:
    ca, server = make_ca(), Server()
    tls = ca.server_context((str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")))

    async def scenario() -> None:
        async with serving(server, tls=tls) as port:
            trusting = Pool(GuardedBackend(LOOPBACK).connect_checked, ca.client_context(), 4, 5.0)
            url = f"https://localhost:{port}/feed"
            assert [await fetch(trusting, url, "127.0.0.1") for _ in range(2)] == [b"127.0.0.1"] * 2
            await trusting.aclose()
            async with HttpClient(settings()) as client:  # the public CAs do not know this one
                with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
                    await client.get(url, max_bytes=100)

    run(scenario())
    assert (server.requests, server.connections) == (2, 1)  # one TLS connection for both
