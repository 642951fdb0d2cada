"""Digest schedules: five-field crontab expressions read the way cron reads them.

APScheduler 3's ``CronTrigger.from_crontab`` counts weekdays from Monday = 0, while cron
counts Sunday = 0 (and 7); ``0 7 * * 1-5`` would fire Tuesday to Saturday. This module
rewrites numeric weekdays into names first, so the scheduler and ``monitor check`` both use
the cron meaning. Names (``mon-fri``) pass through unchanged.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from apscheduler.triggers.cron import CronTrigger

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMERIC = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")


def crontab_trigger(expr: str, timezone: tzinfo) -> CronTrigger:
    """A trigger for ``minute hour day month weekday``; raises ``ValueError`` with a reason."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"a schedule has 5 fields (minute hour day month weekday), not {len(fields)}"
        )
    fields[4] = _cron_weekdays(fields[4])
    try:
        return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)
    except ValueError as exc:
        raise ValueError(f"invalid schedule: {exc}") from None


def _cron_weekdays(field: str) -> str:
    """``1-5`` → ``mon,tue,wed,thu,fri``; ``*/2`` → ``sun,tue,thu,sat``; names untouched."""
    out: list[str] = []
    for item in field.split(","):
        match = _NUMERIC.match(item)
        if match is None or (match.group(1) == "*" and match.group(2) is None):
            out.append(item)
            continue
        span, step = match.group(1), int(match.group(2) or 1)
        first, _, last = span.partition("-")
        low = 0 if first == "*" else int(first)
        high = 6 if first == "*" else int(last or (first if match.group(2) is None else 7))
        if not 0 <= low <= high <= 7 or step < 1:
            raise ValueError(f"invalid weekday {item!r}: use 0-7 (0 and 7 are Sunday) or sun-sat")
        out.extend(_DAYS[d] for d in range(low, high + 1, step))
    return ",".join(dict.fromkeys(out))
