"""``HttpClient``: the one way monitor talks to the outside world.

Every request gets, in this order:

- a concurrency slot (``concurrency`` in total, then ``per_host`` for each hop's host);
- a wall-clock deadline (``timeout``) over the whole exchange, redirects and body included,
  on top of the connect (``connect_timeout``) and per-read timeouts;
- per hop: the scheme and SSRF checks of ``monitor.http.guard`` (the connection itself is
  pinned to the checked address by ``monitor.http.transport``; a kept-alive one is reused
  only for the same origin and address, ``monitor.http.pool``), and the host cooldown;
- redirects followed by hand, at most ``max_redirects``, loops refused;
- the body read raw and decoded under a byte cap (``monitor.http.body``).

Host cooldown: a 429 or 503 with a Retry-After makes the client remember that host until
then; requests to it before that time raise ``HTTPStatusError`` with the same status and the
remaining ``retry_after`` at once, without connecting. The clock is ``time.monotonic``.

Response headers are returned as received (lower-case names); the body is already decoded,
so ``content-encoding``/``content-length`` describe the wire, not ``body``. Cookies are never
stored (there is no cookie jar): each request stands alone. Requests go straight to the
guarded transport, built here (httpx parses URLs only). A client belongs to one event loop.
Every httpx/httpcore/OS error is mapped once, here, to the ``FetchError`` tree of
``monitor.errors``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from monitor.config.schema import HttpSettings
from monitor.errors import (
    BlockedAddressError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    TooLargeError,
    TooManyRedirectsError,
    TransportError,
)
from monitor.http.body import ACCEPT_ENCODING, BadEncoding, BodyTooLarge, read_capped
from monitor.http.guard import AddressRefused, InvalidHost, normalize_url
from monitor.http.headers import request_headers, response_headers
from monitor.http.transport import GuardedTransport
from monitor.model import HttpResponse

log = logging.getLogger("monitor.http")

REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
COOLDOWN_STATUSES = frozenset({429, 503})
_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date), or None.

    ``now`` is the wall-clock time (epoch seconds) an HTTP-date is measured from.
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


@contextmanager
def _mapped(url: str, hop: str) -> Iterator[None]:
    """Turn every third-party failure into the matching ``FetchError`` about ``url``."""
    via = "" if hop == url else f"redirected to {hop}: "
    try:
        yield
    except AddressRefused as exc:
        raise BlockedAddressError(url, via + exc.reason) from exc
    except InvalidHost as exc:
        raise FetchError(url, f"{via}{exc}") from exc
    except BodyTooLarge as exc:
        raise TooLargeError(url, f"{via}{exc}") from exc
    except BadEncoding as exc:
        raise TransportError(url, f"{via}{exc}") from exc
    except (httpx.TimeoutException, httpcore.TimeoutException, TimeoutError) as exc:
        raise FetchTimeoutError(url, f"{via}timed out ({type(exc).__name__})") from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpcore.UnsupportedProtocol) as exc:
        raise FetchError(url, f"{via}invalid URL: {exc}") from exc
    except (
        httpx.HTTPError,
        httpx.StreamError,
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.ProxyError,
        OSError,
        UnicodeError,
    ) as exc:
        raise TransportError(url, f"{via}{str(exc) or type(exc).__name__}") from exc


class _Deadline:
    """A wall-clock budget that starts on first use (after queueing) and spans all hops."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._at: float | None = None

    def at(self) -> float:
        if self._at is None:
            self._at = asyncio.get_running_loop().time() + self._seconds
        return self._at


class HttpClient:
    """One per process/config; every outbound request of monitor goes through it."""

    def __init__(self, settings: HttpSettings) -> None:
        self._settings = settings
        self._deadline = settings.timeout.total_seconds()
        connect = settings.connect_timeout.total_seconds()
        self._transport = GuardedTransport(settings.allow_networks, settings.concurrency)
        self._timeouts = {
            "connect": connect,
            "read": self._deadline,
            "write": self._deadline,
            "pool": self._deadline,
        }
        self._default_headers = {
            "accept": ("Accept", "*/*"),
            "accept-encoding": ("Accept-Encoding", ACCEPT_ENCODING),
            "user-agent": ("User-Agent", settings.user_agent),
        }
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._host_slots: dict[str, tuple[asyncio.Semaphore, int]] = {}
        self._not_before: dict[str, tuple[float, int]] = {}

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close all pooled connections."""
        await self._transport.aclose()

    async def get(
        self, url: str, *, max_bytes: int, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        """GET ``url``; 2xx and 304 come back, everything else raises a ``FetchError``."""
        return await self._request("GET", url, None, headers, max_bytes)

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str] | None = None,
        max_bytes: int = 1 << 20,
    ) -> HttpResponse:
        """POST ``content`` to ``url``; same contract as ``get``."""
        return await self._request("POST", url, content, headers, max_bytes)

    async def _request(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        max_bytes: int,
    ) -> HttpResponse:
        clock = _Deadline(self._deadline)
        try:
            return await self._follow(
                method, url, content, dict(headers or {}), max_bytes, clock=clock
            )
        except TimeoutError as exc:
            raise FetchTimeoutError(url, f"total deadline of {self._deadline:g}s passed") from exc

    async def _follow(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str],
        max_bytes: int,
        *,
        clock: _Deadline,
    ) -> HttpResponse:
        hop_url, seen, all_permanent = url, set[str](), True
        for hop in range(self._settings.max_redirects + 1):
            with _mapped(url, hop_url):
                target = httpx.URL(normalize_url(hop_url))
                if str(target) in seen:
                    raise TooManyRedirectsError(url, f"redirect loop at {target}")
                seen.add(str(target))
                self._check_cooldown(url, target.host)
            # Queueing for a slot is not the server's time: the deadline starts once both
            # the host's and a global slot are held (the host's first, so a busy host does
            # not hold global slots while it waits).
            async with self._host_slot(target.host), self._slots:
                async with asyncio.timeout_at(clock.at()):
                    with _mapped(url, hop_url):
                        response = await self._transport.request(
                            method,
                            target,
                            request_headers(target, self._default_headers, headers, content),
                            content,
                            self._timeouts,
                        )
                        try:
                            status, received = response.status, response_headers(response.headers)
                            log.debug(
                                "HTTP %s %s: %d",
                                method,
                                target,
                                status,
                                extra={"event": "http.response", "status": status},
                            )
                            location = received.get("location", "").strip()
                            if status in REDIRECTS and location:
                                all_permanent = all_permanent and status in PERMANENT
                                hop_url = urljoin(str(target), location)
                                if not _same_origin(str(target), hop_url):
                                    headers = _without_credentials(headers)
                                if status == 303 or (status in (301, 302) and method == "POST"):
                                    method, content = "GET", None
                                continue
                            if not (200 <= status < 300 or status == 304):
                                raise self._status_error(url, target.host, status, received)
                            if status == 304:  # no body; reading its end keeps the connection
                                await read_capped(response.aiter_stream(), "", max_bytes)
                                body = b""
                            else:
                                body = await self._read(response, received, max_bytes)
                        finally:
                            await response.aclose()
            permanent = str(target) if hop and all_permanent else None
            return HttpResponse(str(target), status, received, body, permanent)
        raise TooManyRedirectsError(url, f"more than {self._settings.max_redirects} redirects")

    @staticmethod
    async def _read(response: httpcore.Response, headers: Mapping[str, str], cap: int) -> bytes:
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > cap:
            raise BodyTooLarge(cap, f"declared ({length} bytes)")
        encoding = headers.get("content-encoding", "")
        return await read_capped(response.aiter_stream(), encoding, cap)

    @asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the ``per_host`` slots of ``host``; idle hosts are forgotten."""
        slot, users = self._host_slots.get(host) or (asyncio.Semaphore(self._settings.per_host), 0)
        self._host_slots[host] = (slot, users + 1)
        try:
            async with slot:
                yield
        finally:
            slot, users = self._host_slots[host]
            if users == 1:
                del self._host_slots[host]
            else:
                self._host_slots[host] = (slot, users - 1)

    def _check_cooldown(self, url: str, host: str) -> None:
        until, status = self._not_before.get(host, (0.0, 0))
        remaining = until - time.monotonic()
        if remaining > 0:
            raise HTTPStatusError(url, status, retry_after=remaining)
        self._not_before.pop(host, None)

    def _status_error(
        self, url: str, host: str, status: int, headers: Mapping[str, str]
    ) -> HTTPStatusError:
        retry_after = parse_retry_after(headers.get("retry-after"), time.time())
        if status in COOLDOWN_STATUSES and retry_after:
            self._not_before[host] = (time.monotonic() + retry_after, status)
        return HTTPStatusError(url, status, retry_after)


def _same_origin(a: str, b: str) -> bool:
    try:
        x, y = urlsplit(a), urlsplit(b)
        return (x.scheme, x.hostname, x.port) == (y.scheme.lower(), y.hostname, y.port)
    except ValueError:
        return False


def _without_credentials(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
