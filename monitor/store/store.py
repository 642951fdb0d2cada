"""The Store: one object over the database, each method one transaction.

Methods are thin: they open a transaction (on SQLite, writes take the write lock at BEGIN)
and call the domain module that holds the SQL — feeds, entries, articles, history, outbox,
digests, housekeeping. Times are timezone-aware and passed in; the store reads no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from monitor.config.schema import Feed
from monitor.model import Article
from monitor.store import (
    activity,
    articles,
    digests,
    entries,
    feeds,
    history,
    housekeeping,
    outbox,
)
from monitor.store.engine import make_engine, upgrade, writer
from monitor.store.records import (
    DigestEntry,
    DigestItemRecord,
    FeedState,
    FeedSync,
    MatchRecord,
    NoveltyRecord,
    OutboxRecord,
    OutboxRow,
    PollOutcome,
    PruneReport,
    SentItem,
)


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open (creating if needed) the store at ``url`` and upgrade its schema to head.

    ``sqlite:///path`` (the parent directory is created) or ``postgresql://...`` (psycopg 3).
    ``migrate=False`` leaves the schema alone (probes such as ``monitor healthcheck``).
    """
    engine = make_engine(url)
    try:
        if migrate:
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


class Store:
    """Persistent state of monitor; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = writer(engine)

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._writer.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # feeds

    def sync_feeds(self, configured: Sequence[Feed], now: datetime) -> FeedSync:
        """Follow the config by feed name: add new feeds (due now); update url, tags,
        enabled and interval (a changed url resets conditional-GET state, errors and a
        disable); mark unconfigured feeds ``removed`` (data kept); restore returning ones."""
        with self._write() as conn:
            return feeds.sync_feeds(conn, configured, now)

    def claim_due_feeds(self, now: datetime, limit: int, lease: timedelta) -> list[FeedState]:
        """Lease up to ``limit`` feeds that are enabled, active, due (``next_poll_at <= now``)
        and not leased (or whose lease ran out), earliest due first."""
        with self._write() as conn:
            return feeds.claim_due(conn, now, limit, lease)

    def release_feed_leases(self) -> int:
        """Free every feed lease, for a poller that knows it is the only one (the daemon
        holding the SQLite lock): the leases left by a killed process would otherwise hold
        its feeds until they run out. Returns how many leases were held."""
        with self._write() as conn:
            return feeds.release_leases(conn)

    def record_poll(self, feed_id: int, outcome: PollOutcome) -> None:
        """Write a poll's outcome and release the lease; never touches seen-state.
        Raises KeyError for an unknown feed id."""
        with self._write() as conn:
            feeds.record_poll(conn, feed_id, outcome)

    def enable_feed(self, name: str, now: datetime) -> bool:
        """Re-activate a feed the poller disabled (due now); False if it was not disabled."""
        with self._write() as conn:
            return feeds.enable_feed(conn, name, now)

    def list_feeds(self) -> list[FeedState]:
        """Every feed, removed ones included, by name."""
        with self._read() as conn:
            return feeds.list_feeds(conn)

    # seen-state

    def seen(self, feed_id: int, identities: Iterable[str]) -> set[str]:
        """The subset of ``identities`` already seen for this feed."""
        with self._read() as conn:
            return entries.seen(conn, feed_id, identities)

    def mark_seen(self, feed_id: int, identities: Iterable[str], now: datetime) -> int:
        """Record identities as seen (idempotent, refreshes last_seen); returns how many
        were new."""
        with self._write() as conn:
            return entries.mark_seen(conn, feed_id, identities, now)

    def has_seen_any(self, feed_id: int) -> bool:
        """False until the feed's first poll has recorded anything."""
        with self._read() as conn:
            return entries.has_seen_any(conn, feed_id)

    # articles

    def save_article(  # noqa: PLR0917 - the agreed positional signature
        self,
        feed_id: int,
        entry_identity: str,
        article: Article,
        matches: Sequence[MatchRecord],
        outbox: Sequence[OutboxRecord],
        digest_items: Sequence[DigestItemRecord],
        novelty: Sequence[NoveltyRecord],
        now: datetime,
        *,
        host_blocks: tuple[str, Sequence[str]] | None = None,
    ) -> int | None:
        """In ONE transaction: mark the entry seen, store the article, its matches, outbox
        rows, digest queue items and novelty updates. Returns the new article id, or None
        when an article with the same canonical URL was already stored; then only matches
        (by rule), outbox rows (by key) and queue items not stored yet are added. Raises
        ValueError (and stores nothing) if a digest item names a rule not in ``matches``.
        ``host_blocks`` (host, paragraph fingerprints) counts the page's paragraphs for the
        host's learned boilerplate, only when the article is new."""
        with self._write() as conn:
            article_id = articles.save_article(
                conn,
                feed_id,
                entry_identity,
                article,
                match_records=matches,
                outbox_records=outbox,
                digest_items=digest_items,
                novelty_records=novelty,
                now=now,
            )
            if article_id is not None and host_blocks is not None:
                history.record_host_blocks(conn, host_blocks[0], host_blocks[1], now)
            return article_id

    def novelty_last_seen(self, rule: str, actors: Iterable[str]) -> dict[str, datetime]:
        """When each actor was last seen with the rule's anchor (absent: never)."""
        with self._read() as conn:
            return history.novelty_last_seen(conn, rule, actors)

    def host_block_counts(self, host: str, min_articles: int = 1) -> dict[str, int]:
        """Paragraph fingerprint → number of the host's articles that carried it."""
        with self._read() as conn:
            return history.host_block_counts(conn, host, min_articles)

    def record_host_blocks(self, host: str, fingerprints: Iterable[str], now: datetime) -> None:
        """Count one more article of ``host`` for each distinct fingerprint (≤ 64 chars)."""
        with self._write() as conn:
            history.record_host_blocks(conn, host, fingerprints, now)

    # outbox

    def enqueue(self, records: Sequence[OutboxRecord], now: datetime) -> int:
        """Add outbox rows outside an article (e.g. operator notices); existing keys are
        left alone. Returns how many were new."""
        with self._write() as conn:
            return outbox.enqueue(conn, records, now)

    def claim_outbox(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxRow]:
        """Lease up to ``limit`` rows: pending and due, or leased with an expired lease (a
        crashed relay). Each claim counts one attempt."""
        with self._write() as conn:
            return outbox.claim(conn, now, limit, lease)

    def mark_delivered(self, outbox_id: int, now: datetime) -> bool:
        """Positive acknowledgement; False if the row was not leased."""
        with self._write() as conn:
            return outbox.mark_delivered(conn, outbox_id, now)

    def mark_retry(
        self, outbox_id: int, now: datetime, next_attempt_at: datetime, error: str
    ) -> bool:
        """Transient failure: pending again from ``next_attempt_at``."""
        with self._write() as conn:
            return outbox.mark_retry(conn, outbox_id, now, next_attempt_at, error)

    def mark_dead(self, outbox_id: int, now: datetime, error: str) -> bool:
        """Permanent failure or TTL passed: dead letter."""
        with self._write() as conn:
            return outbox.mark_dead(conn, outbox_id, now, error)

    def outbox_rows(self, states: Iterable[str], limit: int | None = None) -> list[OutboxRow]:
        """Rows in the given states, by id."""
        with self._read() as conn:
            return outbox.rows_in(conn, states, limit)

    def outbox_counts(self) -> dict[str, int]:
        """Rows per state, every state present."""
        with self._read() as conn:
            return outbox.counts(conn)

    def requeue(self, outbox_id: int | None, now: datetime) -> int:
        """Dead letters back to pending (one id, or all when None); returns how many."""
        with self._write() as conn:
            return outbox.requeue(conn, outbox_id, now)

    # digests

    def pending_digest(self, digest: str) -> list[DigestEntry]:
        """Queued, unsent items of a scheduled digest, oldest first."""
        with self._read() as conn:
            return digests.pending(conn, digest)

    def record_digest_run(
        self,
        digest: str,
        run_key: str,
        *,
        now: datetime,
        queue_ids: Sequence[int],
        outbox: Sequence[OutboxRecord] = (),
    ) -> int | None:
        """In one transaction: record the run (``run_key`` unique, e.g. digest + scheduled
        time: None if it exists and nothing else is done), mark every unsent queue item of
        the included articles as sent, and add the outbox rows. Also None, with nothing
        done, when another run consumed any of ``queue_ids`` since they were read: the run
        was built from a stale queue and would repeat that run's stories."""
        try:
            with self._write() as conn:
                return digests.record_run(
                    conn, digest, run_key, queue_ids=queue_ids, outbox_records=outbox, now=now
                )
        except digests.QueueTaken:
            return None

    def digest_sent_since(self, digest: str, since: datetime) -> list[SentItem]:
        """Articles sent in ``digest`` by runs since ``since``."""
        with self._read() as conn:
            return digests.sent_since(conn, digest, since)

    # housekeeping

    def prune(self, now: datetime, older_than: timedelta) -> PruneReport:
        """Delete by age, never by count: entries by last_seen, delivered outbox rows,
        articles (with their matches and queue items) not waiting for a delivery, digest
        runs, host blocks. Dead letters stay until requeued."""
        with self._write() as conn:
            return housekeeping.prune(conn, now, older_than)

    def set_meta(self, key: str, value: Any, now: datetime) -> None:
        """Store a JSON-serialisable value (e.g. the last config reload result)."""
        with self._write() as conn:
            housekeeping.set_meta(conn, key, value, now)

    def get_meta(self, key: str) -> Any:
        """The value under ``key``, or None."""
        with self._read() as conn:
            return housekeeping.get_meta(conn, key)

    def integrity_check(self) -> bool:
        """True when the database reports no corruption."""
        return housekeeping.integrity_check(self.engine)

    def optimize(self) -> None:
        """Refresh planner statistics; on SQLite also truncate the WAL."""
        housekeeping.optimize(self.engine)

    # probes (read-only)

    def article_times(
        self, feed_ids: Iterable[int], per_feed: int = 50
    ) -> dict[int, list[tuple[datetime | None, datetime]]]:
        """``(published, fetched_at)`` of each feed's newest ``per_feed`` articles."""
        with self._read() as conn:
            return activity.article_times(conn, feed_ids, per_feed)

    def schema_revision(self) -> tuple[str | None, str | None]:
        """The database's schema revision (None: no schema yet) and the code's head."""
        with self._read() as conn:
            return activity.schema_revision(conn)
