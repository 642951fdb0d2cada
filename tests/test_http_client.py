"""HttpClient against real loopback servers: bodies, caps, deadlines, redirects, statuses."""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.utils import formatdate
from typing import Any, TypeVar

import pytest

from monitor.config.schema import HttpSettings
from monitor.errors import (
    FetchTimeoutError,
    HTTPStatusError,
    TooLargeError,
    TooManyRedirectsError,
    TransportError,
)
from monitor.http import HttpClient
from monitor.model import HttpResponse
from tests.farm import Farm, Reply, Request

T = TypeVar("T")
LOOPBACK = {"allow_networks": ["127.0.0.0/8"]}


def settings(**values: Any) -> HttpSettings:
    return HttpSettings.model_validate({**LOOPBACK, **values})


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


async def get(url: str, max_bytes: int = 1 << 20, **values: Any) -> HttpResponse:
    async with HttpClient(settings(**values)) as client:
        return await client.get(url, max_bytes=max_bytes)


@asynccontextmanager
async def raw_server(
    respond: Callable[[asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A bare TCP server on 127.0.0.1:0 that answers every request with ``respond``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await respond(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/"


def test_200_body_headers_and_user_agent(farm: Farm) -> None:
    farm.add("/feed", b"<rss/>", headers={"Content-Type": "application/rss+xml", "ETag": '"a"'})
    response = run(get(farm.url("/feed"), user_agent="monitor-test/1 (+https://example.org)"))
    assert (response.status, response.body, response.url) == (200, b"<rss/>", farm.url("/feed"))
    assert response.headers["etag"] == '"a"'
    assert response.permanent_url is None
    sent = farm.hits("/feed")[0].headers
    assert sent["user-agent"] == "monitor-test/1 (+https://example.org)"
    assert sent["accept-encoding"] == "gzip, deflate"


def test_304_passes_through_with_empty_body(farm: Farm) -> None:
    farm.add("/feed", status=304, headers={"ETag": '"a"'})
    response = run(get(farm.url("/feed")))
    assert (response.status, response.body) == (304, b"")


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_bodies_are_decoded(
    farm: Farm, encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    text = b"<rss>" + b"news " * 2000 + b"</rss>"
    farm.add("/feed", encode(text), headers={"Content-Encoding": encoding})
    assert run(get(farm.url("/feed"))).body == text


def test_unasked_encoding_is_a_transport_error(farm: Farm) -> None:
    farm.add("/feed", b"\x8b\x00\x80data\x03", headers={"Content-Encoding": "br"})
    with pytest.raises(TransportError, match="unsupported Content-Encoding 'br'"):
        run(get(farm.url("/feed")))


def test_body_cap_is_inclusive(farm: Farm) -> None:
    farm.add("/exact", b"x" * 1000)
    farm.add("/over", b"x" * 1001)
    assert len(run(get(farm.url("/exact"), max_bytes=1000)).body) == 1000
    with pytest.raises(TooLargeError, match="cap of 1000 bytes"):
        run(get(farm.url("/over"), max_bytes=1000))


def test_declared_content_length_over_cap_is_refused_before_reading(farm: Farm) -> None:
    # The server promises 1 GB but sends one byte: only the header can end this quickly.
    farm.add("/huge", b"x", headers={"Content-Length": str(10**9)})
    start = time.monotonic()
    with pytest.raises(TooLargeError, match="1000000000 bytes"):
        run(get(farm.url("/huge"), max_bytes=1 << 20, timeout="5s"))
    assert time.monotonic() - start < 2


def test_endless_body_without_length_is_cut_at_the_cap() -> None:
    async def endless(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        while True:
            writer.write(b"x" * 65536)
            await writer.drain()

    async def scenario() -> None:
        async with raw_server(endless) as url:
            with pytest.raises(TooLargeError, match="raw body exceeds the cap of 1048576"):
                await get(url, max_bytes=1 << 20)

    run(scenario())


def gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(size >> 20)]
    return b"".join(parts) + compressor.flush()


def test_gzip_bomb_is_refused_with_bounded_memory(farm: Farm) -> None:
    bomb = gzip_bomb(50 << 20)
    assert len(bomb) < 64 << 10  # 50 MB of zeros in under 64 KB
    farm.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError, match="decoded body exceeds the cap of 1048576"):
            run(get(farm.url("/bomb"), max_bytes=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak} bytes while refusing a 50 MB bomb"


def test_drip_server_is_cut_off_at_the_total_deadline(farm: Farm) -> None:
    # One byte every 0.2 s never trips a read timeout; only the total deadline stops it.
    farm.add("/slow", b"x" * 100, drip=0.2)
    start = time.monotonic()
    with pytest.raises(FetchTimeoutError, match="total deadline of 1s"):
        run(get(farm.url("/slow"), timeout="1s"))
    assert 0.9 < time.monotonic() - start < 1.6


def test_connection_closed_mid_body_is_a_transport_error(farm: Farm) -> None:
    farm.add("/cut", b"x" * 100, close_early=True)
    with pytest.raises(TransportError):
        run(get(farm.url("/cut")))


def test_garbage_response_is_a_transport_error() -> None:
    async def garbage(writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()

    async def scenario() -> None:
        async with raw_server(garbage) as url:
            with pytest.raises(TransportError):
                await get(url)

    run(scenario())


def test_redirect_loop(farm: Farm) -> None:
    farm.add("/a", status=302, headers={"Location": "/b"})
    farm.add("/b", status=302, headers={"Location": "/a"})
    with pytest.raises(TooManyRedirectsError, match="loop"):
        run(get(farm.url("/a")))
    assert len(farm.requests) == 2


def test_at_most_five_redirects(farm: Farm) -> None:
    for i in range(6):
        farm.add(f"/r{i}", status=302, headers={"Location": f"/r{i + 1}"})
    farm.add("/r6", b"end")
    assert run(get(farm.url("/r1"))).body == b"end"  # five hops
    with pytest.raises(TooManyRedirectsError, match="more than 5 redirects"):
        run(get(farm.url("/r0")))  # six hops


def test_permanent_redirects_set_permanent_url(farm: Farm) -> None:
    farm.add("/old", status=301, headers={"Location": "/older"})
    farm.add("/older", status=308, headers={"Location": farm.url("/new")})
    farm.add("/mixed", status=301, headers={"Location": "/moved"})
    farm.add("/moved", status=302, headers={"Location": "/new"})
    farm.add("/new", b"feed")
    permanent = run(get(farm.url("/old")))
    assert (permanent.url, permanent.permanent_url) == (farm.url("/new"), farm.url("/new"))
    temporary = run(get(farm.url("/mixed")))
    assert (temporary.url, temporary.permanent_url, temporary.body) == (
        farm.url("/new"),
        None,
        b"feed",
    )


def test_post_after_303_becomes_get_and_307_keeps_post(farm: Farm) -> None:
    farm.add("/see", status=303, headers={"Location": "/done"})
    farm.add("/keep", status=307, headers={"Location": "/done"})
    farm.add("/done", b"ok")

    async def scenario() -> None:
        async with HttpClient(settings()) as client:
            await client.post(farm.url("/see"), content=b"payload")
            await client.post(farm.url("/keep"), content=b"payload")

    run(scenario())
    assert [(r.method, r.body) for r in farm.hits("/done")] == [("GET", b""), ("POST", b"payload")]


def test_error_status_raises(farm: Farm) -> None:
    farm.add("/gone", b"no", status=410)
    with pytest.raises(HTTPStatusError) as info:
        run(get(farm.url("/gone")))
    assert (info.value.status, info.value.retry_after, info.value.url) == (
        410,
        None,
        farm.url("/gone"),
    )


def test_429_retry_after_seconds_and_host_cooldown(farm: Farm) -> None:
    farm.add("/feed", status=429, headers={"Retry-After": "120"})

    async def scenario() -> tuple[HTTPStatusError, HTTPStatusError]:
        async with HttpClient(settings()) as client:
            with pytest.raises(HTTPStatusError) as first:
                await client.get(farm.url("/feed"), max_bytes=1000)
            with pytest.raises(HTTPStatusError) as again:
                await client.get(farm.url("/other"), max_bytes=1000)
            return first.value, again.value

    first, again = run(scenario())
    assert (first.status, first.retry_after) == (429, 120.0)
    assert again.status == 429
    assert again.retry_after is not None
    assert 115 < again.retry_after <= 120
    assert len(farm.requests) == 1  # the cooldown answered without connecting


def test_503_retry_after_http_date(farm: Farm) -> None:
    farm.add(
        "/feed", status=503, headers={"Retry-After": formatdate(time.time() + 60, usegmt=True)}
    )
    with pytest.raises(HTTPStatusError) as info:
        run(get(farm.url("/feed")))
    assert info.value.status == 503
    assert info.value.retry_after is not None
    assert 55 < info.value.retry_after <= 60


def test_503_without_retry_after_sets_no_cooldown(farm: Farm) -> None:
    farm.add("/feed", status=503)

    async def scenario() -> None:
        async with HttpClient(settings()) as client:
            for _ in range(2):
                with pytest.raises(HTTPStatusError, match="HTTP 503"):
                    await client.get(farm.url("/feed"), max_bytes=1000)

    run(scenario())
    assert len(farm.requests) == 2


class InFlight:
    """A farm handler that records the most requests it ever held at once (across farms)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.now = 0
        self.peak = 0
        self._cond = threading.Condition()

    def __call__(self, _req: Request) -> Reply:
        with self._cond:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self._cond.notify_all()
            # Hold the request open until the limit is broken, or briefly if it holds.
            self._cond.wait_for(lambda: self.now > self.limit, timeout=0.15)
            self.now -= 1
        return Reply(200, {}, b"ok")


def test_per_host_limit(farm: Farm) -> None:
    counter = InFlight(limit=2)
    farm.add_handler("/slow", counter)

    async def scenario() -> None:
        async with HttpClient(settings(per_host=2)) as client:
            urls = [farm.url(f"/slow?{i}") for i in range(6)]
            await asyncio.gather(*(client.get(u, max_bytes=100) for u in urls))

    run(scenario())
    assert counter.peak == 2


def test_global_limit_across_hosts(farm: Farm) -> None:
    counter = InFlight(limit=1)
    farm.add_handler("/slow", counter)
    with Farm(host="127.0.0.2") as other:
        other.add_handler("/slow", counter)

        async def scenario() -> None:
            async with HttpClient(settings(concurrency=1, per_host=2)) as client:
                urls = [f.url(f"/slow?{i}") for f in (farm, other) for i in range(2)]
                await asyncio.gather(*(client.get(u, max_bytes=100) for u in urls))

        run(scenario())
    assert counter.peak == 1


def test_credentials_are_not_sent_to_another_host(farm: Farm) -> None:
    with Farm(host="127.0.0.2") as other:
        other.add("/feed", b"ok")
        farm.add("/feed", status=302, headers={"Location": other.url("/feed")})

        async def scenario() -> None:
            async with HttpClient(settings()) as client:
                headers = {"Authorization": "Bearer secret", "Accept": "application/rss+xml"}
                await client.get(farm.url("/feed"), max_bytes=100, headers=headers)

        run(scenario())
        sent = other.hits("/feed")[0].headers
    assert "authorization" not in sent
    assert sent["accept"] == "application/rss+xml"
    assert farm.hits("/feed")[0].headers["authorization"] == "Bearer secret"


def test_cookies_are_never_kept(farm: Farm) -> None:
    farm.add("/login", b"ok", headers={"Set-Cookie": "session=abc; Path=/"})
    farm.add("/feed", b"ok")

    async def scenario() -> None:
        async with HttpClient(settings()) as client:
            await client.get(farm.url("/login"), max_bytes=100)
            await client.get(farm.url("/feed"), max_bytes=100)

    run(scenario())
    assert "cookie" not in farm.hits("/feed")[0].headers


def test_connection_refused_is_a_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: nobody listens
    with pytest.raises(TransportError, match=f"cannot connect to 127.0.0.1 port {port}"):
        run(get(f"http://127.0.0.1:{port}/feed"))


def test_queueing_for_a_busy_host_does_not_eat_the_deadline(farm: Farm) -> None:
    # Six requests, one at a time, each taking ~0.3 s: the last waits ~1.5 s in the queue,
    # longer than the 1 s deadline, yet no request spends more than 1 s with the server.
    def slow(_req: Request) -> Reply:
        time.sleep(0.3)
        return Reply(200, {}, b"ok")

    farm.add_handler("/slow", slow)

    async def scenario() -> list[HttpResponse]:
        async with HttpClient(settings(per_host=1, timeout="1s")) as client:
            urls = [farm.url(f"/slow?{i}") for i in range(6)]
            return await asyncio.gather(*(client.get(u, max_bytes=100) for u in urls))

    assert [r.status for r in run(scenario())] == [200] * 6


def test_a_pooled_connection_the_server_closed_is_not_reused() -> None:
    connections = 0

    async def once(writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async def scenario() -> None:
        async with raw_server(once) as url, HttpClient(settings()) as client:
            first = await client.get(url, max_bytes=100)
            await asyncio.sleep(0.2)  # the server has hung up on the idle keep-alive connection
            second = await client.get(url, max_bytes=100)
            assert first.body == second.body == b"ok"

    run(scenario())
    assert connections == 2


def test_many_concurrent_requests_share_a_bounded_set_of_connections() -> None:
    peers: set[int] = set()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.add(writer.get_extra_info("peername")[1])
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                await asyncio.sleep(0.005)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def scenario() -> list[bytes]:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, HttpClient(settings(concurrency=8, per_host=8)) as client:
            replies = await asyncio.gather(
                *(client.get(f"http://127.0.0.1:{port}/{i}", max_bytes=100) for i in range(200))
            )
        return [r.body for r in replies]

    bodies = run(scenario())
    assert bodies == [f"/{i}".encode() for i in range(200)]  # each answer to its own request
    assert len(peers) <= 8  # connections are reused, never more than the limit


def test_a_connection_reset_is_reported_with_a_reason() -> None:
    async def reset(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST instead of a response

    async def scenario() -> None:
        async with raw_server(reset) as url:
            with pytest.raises(TransportError) as caught:
                await get(url)
        reason = str(caught.value).split(": ", 1)[1]
        assert reason.strip(), str(caught.value)  # never an empty reason

    run(scenario())
