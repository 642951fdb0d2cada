"""The SSRF guard: address rules, URL spellings, and refusals before any connection."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from monitor.config.schema import HttpSettings
from monitor.errors import BlockedAddressError, FetchError
from monitor.http import HttpClient
from monitor.http.guard import (
    AddressRefused,
    InvalidHost,
    IPNetwork,
    legacy_ipv4,
    normalize_url,
    refusal,
)
from monitor.http.transport import GuardedBackend
from tests.farm import Farm


def assert_never_connected(sock: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        sock.accept()


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7F000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("93.184.216.34.", "93.184.216.34"),
        ("example.com", None),
        ("1e100.net", None),
    ],
)
def test_legacy_ipv4_spellings(host: str, address: str | None) -> None:
    parsed = legacy_ipv4(host)
    assert (str(parsed) if parsed else None) == address


@pytest.mark.parametrize("host", ["256.0.0.1", "1.2.3.4.5", "a.1", "0x1g.0.0.1", "4294967296"])
def test_numeric_looking_hosts_that_are_no_address(host: str) -> None:
    with pytest.raises(InvalidHost):
        legacy_ipv4(host)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://0x7f.0.0.1:8080/p?q=1", "http://127.0.0.1:8080/p?q=1"),
        ("https://user:pw@2130706433/x", "https://user:pw@127.0.0.1/x"),
        ("https://example.com/feed.xml", "https://example.com/feed.xml"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    "url", ["ftp://example.com/f", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)"]
)
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(AddressRefused, match="http/https only"):
        normalize_url(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:db8::1",
    ],
)
def test_non_global_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_global_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_allow_networks_open_exactly_their_range() -> None:
    allow = [ipaddress.ip_network("127.0.0.0/8")]
    assert refusal(ipaddress.ip_address("127.0.0.2"), allow) is None
    assert refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allow) is None
    assert refusal(ipaddress.ip_address("10.0.0.1"), allow) is not None
    assert refusal(ipaddress.ip_address("::1"), allow) is not None


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "0.0.0.0",
        "[::ffff:127.0.0.1]",
        "2130706433",
        "0177.0.0.1",
        "0x7f.0.0.1",
    ],
)
def test_client_refuses_before_connecting(listener: socket.socket, host: str) -> None:
    # Only loopback spellings here: should the guard ever break, the request stays on this
    # machine. Private and link-local ranges are covered by test_non_global_addresses_are_refused.
    port = listener.getsockname()[1]

    async def scenario() -> None:
        async with HttpClient(HttpSettings.model_validate({"connect_timeout": "0.5s"})) as client:
            await client.get(f"http://{host}:{port}/latest/meta-data/", max_bytes=1000)

    with pytest.raises(BlockedAddressError, match="refused: address"):
        asyncio.run(scenario())
    assert_never_connected(listener)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed", "file:///etc/passwd"])
def test_client_refuses_other_schemes(url: str) -> None:
    async def scenario() -> None:
        async with HttpClient(HttpSettings()) as client:
            await client.get(url, max_bytes=1000)

    with pytest.raises(BlockedAddressError, match="http/https only"):
        asyncio.run(scenario())


def test_invalid_numeric_host_is_a_fetch_error() -> None:
    async def scenario() -> None:
        async with HttpClient(HttpSettings()) as client:
            await client.get("http://256.0.0.1/", max_bytes=1000)

    with pytest.raises(FetchError, match="invalid IPv4 address"):
        asyncio.run(scenario())


def test_redirect_hops_are_checked(farm: Farm) -> None:
    other = socket.socket()
    other.bind(("127.0.0.2", 0))
    other.listen(8)
    other.setblocking(False)
    with other:
        target = f"http://127.0.0.2:{other.getsockname()[1]}/internal"
        farm.add("/feed", status=302, headers={"Location": target})
        farm.add("/file", status=301, headers={"Location": "file:///etc/passwd"})
        allowed = HttpSettings.model_validate({"allow_networks": ["127.0.0.1/32"]})

        async def fetch(path: str) -> None:
            async with HttpClient(allowed) as client:
                await client.get(farm.url(path), max_bytes=1000)

        with pytest.raises(BlockedAddressError, match=r"redirected to .*127\.0\.0\.2 is loopback"):
            asyncio.run(fetch("/feed"))
        assert_never_connected(other)
        with pytest.raises(BlockedAddressError, match="http/https only"):
            asyncio.run(fetch("/file"))
    assert len(farm.requests) == 2


def test_connections_check_their_address_again_and_pin_it(listener: socket.socket) -> None:
    """The check sits in the connection itself, so no code path (a cached answer, say) can
    skip it; and the connection goes to the checked address."""
    port = listener.getsockname()[1]
    loopback = ipaddress.ip_address("127.0.0.1")

    async def connect(allow: list[IPNetwork]) -> None:
        backend = GuardedBackend(allow)
        stream, address = await backend.connect_checked("localhost", [loopback], port, 1.0)
        assert address == loopback
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
        await stream.aclose()

    with pytest.raises(AddressRefused, match=r"localhost \(127\.0\.0\.1\) refused: .*loopback"):
        asyncio.run(connect([]))
    assert_never_connected(listener)
    asyncio.run(connect([ipaddress.ip_network("127.0.0.1/32")]))
    listener.setblocking(True)
    accepted, _ = listener.accept()
    accepted.close()
