"""Structured logging to stderr: JSON lines when stderr is not a terminal, readable text when it is.

Every record carries a stable ``event`` name (``feed.failed``, ``config.reloaded``, ...; the
list is in docs/operations.md) and the fields bound to it (``feed``, ``rule``, ``digest``,
``channel``, ...), passed as ``extra={"event": ..., "feed": ...}`` or through :func:`bind`.
A record without an event is named after its logger.

Secrets never reach the output: a filter on the one handler replaces every configured secret
value (SMTP password, Slack webhook URL, webhook secret, a password in the storage URL) with
``***`` in the message, in every bound field and in tracebacks.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from monitor.config.schema import Config

REDACTED = "***"
NOISY = ("apscheduler", "httpx", "httpcore", "alembic", "watchfiles", "aiosmtplib")
"""Libraries whose per-request and per-job chatter shows only with ``-vv``."""

# Attributes every LogRecord has; anything else on a record is a bound field.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The fields bound to ``record`` (``extra=``), without ``event``."""
    return {
        k: v
        for k, v in vars(record).items()
        if k not in _STANDARD and k != "event" and not k.startswith("_")
    }


def event_of(record: logging.LogRecord) -> str:
    """The record's stable event name (its logger's name when none was given)."""
    event = getattr(record, "event", None)
    return event if isinstance(event, str) and event else record.name


class Redactor(logging.Filter):
    """Replaces secret values with ``***`` in a record's message, fields and traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Also hide ``secrets`` (and their URL-encoded forms) from now on."""
        found = set(self._secrets)
        for secret in secrets:
            if secret and secret.strip():
                found.update({secret, quote(secret, safe=""), quote_plus(secret)})
        self._secrets = sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _value(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {str(k): self._value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._value(v) for v in value]
        return self.redact(str(value))

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        for key, value in fields_of(record).items():
            setattr(record, key, self._value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _plain(value: Any) -> Any:
    """A JSON-friendly version of a field value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, event, logger, message, then the bound fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": event_of(record),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields_of(record).items():
            data.setdefault(key, _plain(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``12:00:01 WARNING monitor.pipeline: message  [feed=x kind=timeout]`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = " ".join(f"{k}={_plain(v)}" for k, v in fields_of(record).items())
        if not fields:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first}  [{fields}]{newline}{rest}"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return


_redactor = Redactor()


def configure_logging(
    verbosity: int, *, json: bool | None = None, secrets: Iterable[str] = ()
) -> None:
    """Log to stderr: WARNING, INFO with ``verbosity`` 1, DEBUG with 2 (libraries too).

    ``json`` None means JSON lines unless stderr is a terminal. ``secrets`` are hidden from
    every record; :func:`add_secrets` adds more later (once the config is loaded).
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    use_json = not sys.stderr.isatty() if json is None else json
    handler = _StderrHandler()
    handler.addFilter(_redactor)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root.addHandler(handler)
    _redactor.add(secrets)
    root.setLevel(logging.WARNING - 10 * min(max(verbosity, 0), 2))
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)


def add_secrets(secrets: Iterable[str]) -> None:
    """Hide ``secrets`` from every record logged from now on."""
    _redactor.add(secrets)


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``***`` (for output that is not a log
    record, such as a command's summary of failed feeds)."""
    return _redactor.redact(text)


def config_secrets(config: Config) -> list[str]:
    """Every secret value in ``config``: its SecretStr fields and the storage URL's password."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(config)
    try:
        password = make_url(config.storage).password
    except (ArgumentError, ValueError):  # an unparsable URL holds no password we could name
        password = None
    if password:
        found.append(str(password))
    return [s for s in found if s]


class BoundLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger with fields bound to every record (merged under a call's own ``extra``)."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs


def bind(logger: logging.Logger | str, **fields: Any) -> BoundLogger:
    """``bind(log, feed="bbc").warning("...", extra={"event": "feed.failed"})``."""
    base = logging.getLogger(logger) if isinstance(logger, str) else logger
    return BoundLogger(base, fields)
