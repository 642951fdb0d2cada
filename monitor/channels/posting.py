"""One POST through the shared ``HttpClient``, its failures mapped to delivery errors.

2xx comes back. 408, 429 and 5xx, timeouts, lost connections and a response over the size
cap are transient (``retry_after`` from the receiver's Retry-After); other 4xx, a target the
address guard refuses, too many redirects and a malformed URL are permanent. With
``redact`` the URL never appears in a message (a Slack webhook URL is a credential).
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.errors import (
    DeliveryError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    PermanentDeliveryError,
    TooLargeError,
    TransientDeliveryError,
    TransportError,
)
from monitor.http import HttpClient
from monitor.model import HttpResponse

MAX_RESPONSE = 64 * 1024
_RETRY_STATUSES = frozenset({408, 425, 429})


def delivery_error(channel: str, exc: FetchError, *, redact: bool = False) -> DeliveryError:
    """The delivery error for a failed request of ``channel``."""
    reason = exc.reason.replace(exc.url, "[url]") if redact else f"{exc.url}: {exc.reason}"
    if isinstance(exc, HTTPStatusError):
        if exc.status in _RETRY_STATUSES or exc.status >= 500:
            return TransientDeliveryError(channel, reason, exc.retry_after)
        return PermanentDeliveryError(channel, reason)
    if isinstance(exc, (FetchTimeoutError, TransportError, TooLargeError)):
        return TransientDeliveryError(channel, f"{exc.kind}: {reason}")
    return PermanentDeliveryError(channel, f"{exc.kind}: {reason}")


async def post(
    http: HttpClient,
    channel: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    redact: bool = False,
) -> HttpResponse:
    """POST ``body`` to ``url``; raises ``TransientDeliveryError``/``PermanentDeliveryError``."""
    try:
        return await http.post(url, content=body, headers=headers, max_bytes=MAX_RESPONSE)
    except FetchError as exc:
        error = delivery_error(channel, exc, redact=redact)
        if redact:  # the original error names the URL: keep it out of tracebacks too
            raise error from None
        raise error from exc
