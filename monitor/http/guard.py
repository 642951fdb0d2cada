"""The SSRF guard: which URLs and addresses monitor may fetch from.

Only http and https are allowed. A host is resolved first and refused when any of its
addresses is not globally routable (loopback, private, link-local, CGNAT, multicast,
reserved, unspecified, ...), unless it lies in one of the configured ``allow_networks``.
IPv6 forms that embed an IPv4 address (``::ffff:127.0.0.1``, NAT64, 6to4, Teredo) are
judged by the embedded address too. Legacy IPv4 spellings (``2130706433``, ``0177.0.0.1``,
``0x7f.0.0.1``, ``127.1``) are read the way the WHATWG URL standard reads them and rewritten
to dotted form, so no later parser or resolver can disagree with the guard about them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = frozenset({"http", "https"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")


class AddressRefused(Exception):
    """Raised by the guard; the client turns it into ``BlockedAddressError`` with the URL."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidHost(ValueError):
    """A host that looks numeric but is no valid IPv4 address (``256.1.1.1``, ``0x1g.1``)."""


def _ipv4_part(part: str) -> int | None:
    """One dotted part as a number (decimal, ``0x`` hex or leading-zero octal), else None."""
    text = part.lower()
    try:
        if text.startswith("0x"):
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text[1:], 8)
        return int(text, 10) if text.isdigit() else None
    except ValueError:
        return None


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Read ``host`` as an IPv4 address in any legacy spelling, or None if it is a name.

    Follows the WHATWG URL host parser: the host is an IPv4 address when its last dotted
    part is numeric; then every part must be numeric and in range, else ``InvalidHost``.
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not parts or _ipv4_part(parts[-1]) is None:
        return None
    numbers = [_ipv4_part(p) for p in parts]
    if len(numbers) > 4 or any(n is None for n in numbers):
        raise InvalidHost(f"invalid IPv4 address {host!r}")
    values = [n for n in numbers if n is not None]
    last_limit = 256 ** (5 - len(values))
    if any(n > 255 for n in values[:-1]) or values[-1] >= last_limit:
        raise InvalidHost(f"invalid IPv4 address {host!r}")
    number = values[-1]
    for i, n in enumerate(values[:-1]):
        number += n << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def normalize_url(url: str) -> str:
    """Check the scheme and rewrite a legacy IPv4 host to dotted form.

    Raises ``AddressRefused`` for a scheme other than http/https and ``InvalidHost`` for a
    URL without a usable host.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise InvalidHost(f"invalid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise AddressRefused(f"scheme {scheme or '(none)'!r} is not allowed (http/https only)")
    if not host:
        raise InvalidHost("URL has no host")
    ipv4 = legacy_ipv4(host) if ":" not in host else None
    if ipv4 is None or str(ipv4) == host:
        return urlunsplit(parts._replace(scheme=scheme))
    netloc = parts.netloc.rsplit("@", 1)
    hostport = str(ipv4) if port is None else f"{ipv4}:{port}"
    netloc[-1] = hostport
    return urlunsplit(parts._replace(scheme=scheme, netloc="@".join(netloc)))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _why_not_global(ip: IPAddress) -> str | None:
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("not globally routable", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def refusal(ip: IPAddress, allow: Sequence[IPNetwork] = ()) -> str | None:
    """Why ``ip`` may not be contacted, or None when it may (global, or in ``allow``)."""
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            candidates.insert(0, embedded)
    if any(c in net for c in candidates for net in allow if c.version == net.version):
        return None
    for candidate in candidates:
        why = _why_not_global(candidate)
        if why is not None:
            return f"address {candidate} is {why}"
    return None


async def resolve_checked(host: str, port: int, allow: Sequence[IPNetwork] = ()) -> list[IPAddress]:
    """Resolve ``host`` and return its addresses; ``AddressRefused`` if any is refused.

    All addresses must pass, so a name cannot mix a public and a private answer.
    """
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host!r}: {exc.strerror}") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise OSError(f"cannot resolve {host!r}: no addresses")
    for ip in addresses:
        why = refusal(ip, allow)
        if why is not None:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise AddressRefused(f"{shown} refused: {why}")
    return addresses


class CheckedAddresses:
    """``resolve_checked`` with its answers kept for ``ttl`` seconds per host.

    Only names that passed are kept; a refusal or a failed lookup is asked again next time.
    Concurrent lookups of one host share a single resolution. ``clock`` is ``time.monotonic``
    unless given.
    """

    def __init__(
        self,
        allow: Sequence[IPNetwork] = (),
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allow = tuple(allow)
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, tuple[float, tuple[IPAddress, ...]]] = {}
        self._pending: dict[str, asyncio.Future[tuple[IPAddress, ...]]] = {}

    async def get(self, host: str, port: int) -> tuple[IPAddress, ...]:
        """The checked addresses of ``host``; ``AddressRefused`` or ``OSError`` as resolving."""
        known = self._known.get(host)
        if known is not None and known[0] > self._clock():
            return known[1]
        pending = self._pending.get(host)
        if pending is None:
            pending = asyncio.ensure_future(self._resolve(host, port))
            self._pending[host] = pending
            pending.add_done_callback(lambda done: self._settle(host, done))
        return await asyncio.shield(pending)

    async def _resolve(self, host: str, port: int) -> tuple[IPAddress, ...]:
        return tuple(await resolve_checked(host, port, self._allow))

    def _settle(self, host: str, done: asyncio.Future[tuple[IPAddress, ...]]) -> None:
        del self._pending[host]
        if done.cancelled() or done.exception() is not None:
            return
        now = self._clock()
        if len(self._known) >= 4096:  # forget expired hosts, so the table stays small
            self._known = {h: v for h, v in self._known.items() if v[0] > now}
        self._known[host] = (now + self._ttl, done.result())
