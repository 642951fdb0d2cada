"""Small text and date helpers shared by the feed parsers."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SPACE = re.compile(r"\s+")


def clean_line(value: object) -> str:
    """One line of display text: control characters removed, whitespace collapsed."""
    if not isinstance(value, str):
        return ""
    return _SPACE.sub(" ", _CONTROL.sub(" ", value)).strip()


def optional_line(value: object) -> str | None:
    """Like ``clean_line`` but ``None`` for missing or blank values."""
    return clean_line(value) or None


def from_struct_time(value: object) -> datetime | None:
    """A feedparser ``*_parsed`` value (UTC struct_time) as an aware UTC datetime."""
    if not isinstance(value, time.struct_time):
        return None
    year, month, day, hour, minute, second = value[:6]
    try:
        # struct_time allows leap seconds (60, 61); datetime does not.
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
