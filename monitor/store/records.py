"""The data that goes into and comes out of the store: small frozen dataclasses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class FeedState:
    """One row of ``feeds``.

    ``enabled`` is the config's switch; ``status`` is the store's own: ``active``,
    ``disabled`` (by the poller, e.g. 410 Gone; see ``disabled_reason``) or ``removed`` (no
    longer configured; its data is kept). A feed is polled when enabled and active.
    ``interval_seconds`` is the configured interval (None: the default), ``interval_auto``
    the config's ``interval: auto``. ``entries_count`` counts the seen entries retained.
    """

    id: int
    name: str
    url: str
    original_url: str
    tags: tuple[str, ...]
    enabled: bool
    status: str
    disabled_reason: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_poll_at: datetime
    last_polled_at: datetime | None
    last_success_at: datetime | None
    error_count: int
    last_error: str | None
    last_error_kind: str | None
    interval_seconds: int | None
    interval_auto: bool
    lease_until: datetime | None
    entries_count: int
    last_new_entries: int
    created_at: datetime

    @property
    def interval(self) -> timedelta | None:
        """The configured fixed interval, if any."""
        return None if self.interval_seconds is None else timedelta(seconds=self.interval_seconds)


@dataclass(frozen=True)
class FeedSync:
    """What ``sync_feeds`` changed, by feed name."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()


@dataclass(frozen=True)
class PollOutcome:
    """The result of one poll, written by ``record_poll``.

    ``etag``, ``last_modified`` and ``body_hash`` of None keep the stored values (a 304 need
    not repeat them). ``new_url`` is the target of a permanent redirect. ``disable_reason``
    (e.g. ``"410 Gone"``) disables the feed until its URL changes or ``enable_feed``.
    """

    now: datetime
    ok: bool
    next_poll_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    new_url: str | None = None
    error: str | None = None
    error_kind: str | None = None
    disable_reason: str | None = None
    entries_added: int = 0


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"key must have 1 to {MAX_KEY_LENGTH} characters: {key[:80]!r}")


def _check_json(value: Mapping[str, Any], what: str) -> None:
    """Fail early, and alike on both backends, on what a JSON column cannot hold."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from exc


@dataclass(frozen=True)
class MatchRecord:
    """A rule that matched an article; ``evidence`` must be JSON-serialisable."""

    rule: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_json(self.evidence, "evidence")


@dataclass(frozen=True)
class OutboxRecord:
    """A message to send. ``key`` is the deterministic idempotency key (unique, at most 200
    characters); inserting a key that exists is a no-op. ``next_attempt_at`` defaults to now.
    """

    key: str
    channel: str
    payload: Mapping[str, Any]
    digest: str | None = None
    next_attempt_at: datetime | None = None

    def __post_init__(self) -> None:
        _check_key(self.key)
        _check_json(self.payload, "payload")


@dataclass(frozen=True)
class DigestItemRecord:
    """Queue the article's match of ``rule`` for the scheduled digest ``digest``."""

    digest: str
    rule: str


@dataclass(frozen=True)
class NoveltyRecord:
    """``actor`` was seen with ``rule``'s anchor at ``seen_at``."""

    rule: str
    actor: str
    seen_at: datetime


@dataclass(frozen=True)
class OutboxRow:
    """One row of ``outbox``. ``queued_at`` is when it was created or last requeued (measure
    the dead-letter TTL from it); ``attempts`` counts claims since then."""

    id: int
    key: str
    channel: str
    digest: str | None
    article_id: int | None
    payload: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    last_error: str | None
    created_at: datetime
    queued_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None


@dataclass(frozen=True)
class DigestEntry:
    """A queued (not yet sent) match for a scheduled digest, with its article."""

    queue_id: int
    digest: str
    rule: str
    evidence: dict[str, Any]
    enqueued_at: datetime
    article_id: int
    feed: str
    url: str
    canonical_url: str
    title: str
    text: str
    published: datetime | None
    language: str | None
    author: str | None
    tags: tuple[str, ...]
    content_hash: str
    fetched_at: datetime


@dataclass(frozen=True)
class SentItem:
    """An article that went out in a digest run."""

    article_id: int
    canonical_url: str
    title: str
    content_hash: str
    run_id: int
    sent_at: datetime


@dataclass(frozen=True)
class PruneReport:
    """How many rows ``prune`` deleted, per table."""

    entries: int = 0
    articles: int = 0
    outbox: int = 0
    digest_runs: int = 0
    host_blocks: int = 0
