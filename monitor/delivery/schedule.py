"""Scheduled digests: which cron slot is due (pure), and running it exactly once.

Each scheduled digest keeps a cursor in ``meta`` under ``digest:<name>:last_slot``: the last
slot it ran, with the schedule and time zone it was computed for. A check at ``now`` runs the
latest slot in ``(cursor, now]`` under the run key of that slot — one run, however many
slots passed while monitor was down — and then moves the cursor to it. The run key makes a
second run of the same slot a no-op (a crash between the run and the cursor update, or a
cron job and a catch-up check racing).

A digest never checked before, or whose schedule or time zone changed, counts its slots
from ``look_back`` (5 minutes) before the first check: starting the daemon at 10:00 does not
send the 07:00 digest, but a cron job firing a moment late, or a start at 07:00:30, does.

Cron expressions are read the cron way (``monitor.config.cron.crontab_trigger``) in the
digest's time zone; APScheduler's trigger computes the fire times (DST included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from monitor.config.cron import crontab_trigger
from monitor.config.schema import Config, Digest
from monitor.delivery.digests import DigestRun, digest_config, run_digest
from monitor.delivery.outbox import slot_run_key
from monitor.digests import Templates
from monitor.store import Store

LOOK_BACK = timedelta(minutes=5)
TICK = timedelta(microseconds=1)
# Search the most recent hour first, widening only when it holds no slot: a dense schedule
# never iterates over years, a yearly one is still found.
_WINDOWS = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=32),
    timedelta(days=367),
    timedelta(days=8 * 366),
)


def slot_meta_key(digest: str) -> str:
    """The ``meta`` key of a digest's slot cursor."""
    return f"digest:{digest}:last_slot"


def trigger_for(digest: Digest) -> CronTrigger:
    """The cron trigger of a scheduled digest (ValueError for an immediate one)."""
    if digest.schedule is None:
        raise ValueError(f"digest {digest.name!r} has no schedule")
    return crontab_trigger(digest.schedule, ZoneInfo(digest.timezone))


def _fire_times(trigger: CronTrigger, after: datetime, until: datetime) -> list[datetime]:
    times = []
    fire = trigger.get_next_fire_time(None, after + TICK)
    while fire is not None and fire <= until:
        times.append(fire)
        fire = trigger.get_next_fire_time(None, fire + TICK)
    return times


def latest_slot(trigger: CronTrigger, after: datetime, now: datetime) -> datetime | None:
    """The latest fire time of ``trigger`` in ``(after, now]``, or None."""
    for window in _WINDOWS:
        start = max(after, now - window)
        times = _fire_times(trigger, start, now)
        if times:
            return times[-1]
        if start == after:
            return None
    return None


@dataclass(frozen=True)
class SlotCursor:
    """The last slot run (or the time slots count from), for one schedule and time zone."""

    at: datetime
    schedule: str
    timezone: str

    def to_json(self) -> dict[str, str]:
        at = self.at.astimezone(UTC).isoformat()
        return {"at": at, "schedule": self.schedule, "timezone": self.timezone}

    @classmethod
    def from_json(cls, value: Any) -> SlotCursor | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(
                datetime.fromisoformat(value["at"]), str(value["schedule"]), str(value["timezone"])
            )
        except (KeyError, TypeError, ValueError):
            return None

    def follows(self, digest: Digest) -> bool:
        """True when the cursor was made for the digest's current schedule."""
        return (self.schedule, self.timezone) == (digest.schedule, digest.timezone)


def due_slot(
    digest: Digest,
    cursor: SlotCursor | None,
    now: datetime,
    *,
    look_back: timedelta = LOOK_BACK,
) -> datetime | None:
    """The slot to run at ``now``: the latest in ``(cursor, now]`` (or, without a cursor for
    this schedule, in ``(now - look_back, now]``); None when no slot is due."""
    after = cursor.at if cursor is not None and cursor.follows(digest) else now - look_back
    return latest_slot(trigger_for(digest), after, now)


def run_due_digest(
    store: Store,
    config: Config,
    templates: Templates,
    name: str,
    *,
    now: datetime,
    look_back: timedelta = LOOK_BACK,
) -> DigestRun | None:
    """Run the scheduled digest ``name`` if a slot is due (once); None when none is."""
    digest = digest_config(config, name)
    key = slot_meta_key(name)
    cursor = SlotCursor.from_json(store.get_meta(key))
    slot = due_slot(digest, cursor, now, look_back=look_back)
    assert digest.schedule is not None  # due_slot refused an immediate digest
    if slot is None:
        if cursor is None or not cursor.follows(digest):
            start = SlotCursor(now - look_back, digest.schedule, digest.timezone)
            store.set_meta(key, start.to_json(), now)
        return None
    run = run_digest(store, config, templates, name, now=now, run_key=slot_run_key(name, slot))
    store.set_meta(key, SlotCursor(slot, digest.schedule, digest.timezone).to_json(), now)
    return run


def run_due_digests(
    store: Store,
    config: Config,
    templates: Templates,
    *,
    now: datetime,
    names: Iterable[str] | None = None,
) -> list[DigestRun]:
    """``run_due_digest`` for every scheduled digest (or those in ``names``)."""
    wanted = None if names is None else set(names)
    runs = []
    for digest in config.digests:
        if digest.schedule is not None and (wanted is None or digest.name in wanted):
            run = run_due_digest(store, config, templates, digest.name, now=now)
            if run is not None:
                runs.append(run)
    return runs
