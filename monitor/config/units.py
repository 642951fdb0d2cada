"""Parsing of human units in config.yaml: durations (``10m``, ``1h30m``, ``90d``) and sizes
(``5MiB``, ``10MB``, ``512k``)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_DURATION_FULL = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "kib": 1024, "ki": 1024,
    "m": 1000**2, "mb": 1000**2, "mib": 1024**2, "mi": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "gi": 1024**3,
    "t": 1000**4, "tb": 1000**4, "tib": 1024**4, "ti": 1024**4,
}  # fmt: skip


def parse_duration(value: object) -> timedelta:
    """``"10m"`` → 10 minutes. A bare number counts as seconds. Raises ``ValueError``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 24h or 90d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION_FULL.match(value):
        seconds = sum(
            float(n) * _DURATION_UNITS[u.lower()] for n, u in _DURATION_PART.findall(value)
        )
    else:
        raise ValueError(f"expected a duration such as 30s, 10m, 24h or 90d, not {value!r}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return timedelta(seconds=seconds)


def parse_size(value: object) -> int:
    """``"5MiB"`` → 5242880 bytes. A bare number counts as bytes. Raises ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 512KiB, 5MiB or 1GB")
    if isinstance(value, int):
        n = value
    else:
        m = _SIZE.match(str(value))
        if not m or (m.group(2) or "").lower() not in _SIZE_UNITS:
            raise ValueError(f"expected a size such as 512KiB, 5MiB or 1GB, not {value!r}")
        n = int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "").lower()])
    if n <= 0:
        raise ValueError("a size must be positive")
    return n


def format_duration(td: timedelta) -> str:
    """The shortest exact spelling of a duration: 600 s → ``10m``."""
    seconds = td.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        size = _DURATION_UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_listen(value: object) -> tuple[str, int]:
    """``"127.0.0.1:9464"`` → ``("127.0.0.1", 9464)``; IPv6 as ``"[::1]:9464"``; port 0 picks
    a free port. Raises ``ValueError``."""
    hint = "expected host:port, such as 127.0.0.1:9464 or [::1]:9464"
    if not isinstance(value, str):
        raise ValueError(hint)
    host, sep, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{hint} (put an IPv6 address in brackets)")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(hint)
    return host, int(port)
