"""The one exception tree of monitor.

Every error carries the resource it is about (a feed URL, a page, a channel, a config
location), so a message can be shown to the user as it is::

    MonitorError
     ├── ConfigError            config.yaml is invalid (carries every issue at once)
     ├── FetchError             an outbound HTTP request failed            (url)
     │    ├── BlockedAddressError   the SSRF guard refused the target
     │    ├── TooLargeError         the body went over its cap
     │    ├── FetchTimeoutError     connect/read/total deadline passed
     │    ├── TooManyRedirectsError more than the allowed redirects (or a loop)
     │    ├── HTTPStatusError       a non-success status (status, retry_after)
     │    └── TransportError        connection refused/reset, TLS, protocol
     ├── FeedParseError         the bytes are no usable feed              (url)
     ├── ExtractError           no main text could be extracted           (url)
     ├── WorkerError            a bounded worker was killed (time or memory)
     └── DeliveryError          a channel refused or failed               (channel)
          ├── TransientDeliveryError  worth retrying (retry_after optional)
          └── PermanentDeliveryError  will never succeed as sent

Third-party exceptions are mapped to these once, at the edge, with ``raise ... from exc``.
"""

from __future__ import annotations

from dataclasses import dataclass


def _rebuild_error(
    cls: type[MonitorError], args: tuple[object, ...], state: dict[str, object]
) -> MonitorError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take their fields, not the message, in __init__: rebuild from the state
        # so errors survive pickling across the worker-process boundary.
        return _rebuild_error, (type(self), self.args, dict(self.__dict__))


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, located as ``file:line:col: key.path: message``."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(MonitorError):
    """The config is invalid; ``issues`` lists every problem found, in file order."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.col, i.path))
        super().__init__("\n".join(str(i) for i in self.issues))


class FetchError(MonitorError):
    """An outbound request failed; ``kind`` is a stable short name for metrics and logs."""

    kind = "fetch"

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class BlockedAddressError(FetchError):
    kind = "blocked"


class TooLargeError(FetchError):
    kind = "too_large"


class FetchTimeoutError(FetchError):
    kind = "timeout"


class TooManyRedirectsError(FetchError):
    kind = "redirects"


class TransportError(FetchError):
    kind = "transport"


class HTTPStatusError(FetchError):
    kind = "status"

    def __init__(self, url: str, status: int, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(url, f"HTTP {status}")


class FeedParseError(MonitorError):
    kind = "parse"

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class ExtractError(MonitorError):
    kind = "extract"

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class WorkerError(MonitorError):
    """A job in the bounded worker pool was killed for time or memory, or crashed."""

    kind = "worker"


class DeliveryError(MonitorError):
    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"channel {channel}: {reason}")


class TransientDeliveryError(DeliveryError):
    def __init__(self, channel: str, reason: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(channel, reason)


class PermanentDeliveryError(DeliveryError):
    pass
