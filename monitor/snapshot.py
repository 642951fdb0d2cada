"""What ``monitor status``, ``monitor healthcheck``, ``/readyz`` and ``/metrics`` report, read
from the store alone: feeds with their health verdicts, the outbox, dead letters, the last
config reload and the daemon's poll tick. The verdicts themselves are ``monitor.health``'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from monitor.config.schema import Config
from monitor.delivery.notice import NOTICE_META
from monitor.health import (
    RELOAD_META,
    RHYTHM_WINDOW,
    TICK_META,
    VERDICTS,
    FeedFacts,
    FeedHealth,
    Readiness,
    feed_health,
    readiness,
)
from monitor.store import FeedState, Store


@dataclass(frozen=True)
class FeedStatus:
    """One configured feed: its stored state and the health verdict on it."""

    name: str
    url: str
    status: str
    last_poll: datetime | None
    last_success: datetime | None
    error_count: int
    last_error: str | None
    last_error_kind: str | None
    next_poll: datetime | None
    health: FeedHealth

    def to_json(self) -> dict[str, Any]:
        h = self.health
        return {
            "name": self.name,
            "url": self.url,
            "status": self.status,
            "last_poll": _iso(self.last_poll),
            "last_success": _iso(self.last_success),
            "error_count": self.error_count,
            "last_error": self.last_error,
            "last_error_kind": self.last_error_kind,
            "next_poll": _iso(self.next_poll),
            "health": h.verdict,
            "reason": h.reason,
            "usual_gap_seconds": _seconds(h.usual_gap),
            "quiet_seconds": _seconds(h.quiet_for),
            "silent_after_seconds": _seconds(h.threshold),
        }


@dataclass(frozen=True)
class Snapshot:
    """Everything the status command prints, at ``now``."""

    now: datetime
    feeds: tuple[FeedStatus, ...]
    outbox: dict[str, int]
    last_dead_letter: dict[str, Any] | None
    reload: dict[str, Any] | None
    tick: dict[str, Any] | None
    readiness: Readiness

    def health_counts(self) -> dict[str, int]:
        """How many feeds have each verdict (every verdict present)."""
        counts = Counter(f.health.verdict for f in self.feeds)
        return {v: counts.get(v, 0) for v in VERDICTS}

    def to_json(self) -> dict[str, Any]:
        r = self.readiness
        return {
            "now": self.now.isoformat(),
            "ready": r.ready,
            "reasons": list(r.reasons),
            "last_tick": _iso(r.last_tick),
            "tick": self.tick,
            "config": self.reload,
            "feeds": [f.to_json() for f in self.feeds],
            "feed_health": self.health_counts(),
            "outbox": self.outbox,
            "dead_letters": {"count": self.outbox.get("dead", 0), "last": self.last_dead_letter},
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _seconds(value: Any) -> float | None:
    return round(value.total_seconds(), 3) if value is not None else None


def _mapping(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) else None


def _facts(
    name: str, enabled: bool, state: FeedState | None, times: list[tuple[datetime | None, datetime]]
) -> FeedFacts:
    if state is None:
        return FeedFacts(name, enabled, "active", None, None, None, 0)
    appeared = [p if p is not None and p <= f else f for p, f in times]
    return FeedFacts(
        name=name,
        enabled=enabled and state.enabled,
        status=state.status,
        created_at=state.created_at,
        last_polled_at=state.last_polled_at,
        last_success_at=state.last_success_at,
        error_count=state.error_count,
        last_error=state.last_error,
        article_times=appeared,
    )


def feed_statuses(store: Store, config: Config, now: datetime) -> tuple[FeedStatus, ...]:
    """Every configured feed with its stored state and verdict, in config order."""
    known = {s.name: s for s in store.list_feeds()}
    ids = [known[f.name].id for f in config.feeds if f.name in known]
    times = store.article_times(ids, RHYTHM_WINDOW)
    result = []
    for feed in config.feeds:
        state = known.get(feed.name)
        facts = _facts(feed.name, feed.enabled, state, times.get(state.id, []) if state else [])
        health = feed_health(facts, now)
        if state is None:
            result.append(
                FeedStatus(feed.name, feed.url, "new", None, None, 0, None, None, None, health)
            )
            continue
        active = state.status == "active" and feed.enabled
        result.append(
            FeedStatus(
                name=feed.name,
                url=state.url,
                status=state.status if feed.enabled else "disabled in config",
                last_poll=state.last_polled_at,
                last_success=state.last_success_at,
                error_count=state.error_count,
                last_error=state.last_error if state.error_count else state.disabled_reason,
                last_error_kind=state.last_error_kind if state.error_count else None,
                next_poll=state.next_poll_at if active else None,
                health=health,
            )
        )
    return tuple(result)


def read_readiness(store: Store, config: Config, now: datetime) -> Readiness:
    """Readiness from the store's records alone (two small reads)."""
    tick_seconds = config.daemon.tick.total_seconds()
    try:
        tick = _mapping(store.get_meta(TICK_META))
        reload = _mapping(store.get_meta(RELOAD_META))
    except SQLAlchemyError as exc:
        return readiness(now, None, None, tick_seconds=tick_seconds, store_error=_short(exc))
    return readiness(now, tick, reload, tick_seconds=tick_seconds)


def take_snapshot(store: Store, config: Config, now: datetime) -> Snapshot:
    """Read everything ``monitor status`` shows; store errors propagate."""
    tick = _mapping(store.get_meta(TICK_META))
    reload = _mapping(store.get_meta(RELOAD_META))
    return Snapshot(
        now=now,
        feeds=feed_statuses(store, config, now),
        outbox=store.outbox_counts(),
        last_dead_letter=_mapping(store.get_meta(NOTICE_META)),
        reload=reload,
        tick=tick,
        readiness=readiness(now, tick, reload, tick_seconds=config.daemon.tick.total_seconds()),
    )


def _short(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's background link."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
