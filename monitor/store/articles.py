"""Saving a processed article: one transaction for the entry, the article, its matches, the
outbox rows, the digest queue and the novelty history (the delivery contract, DESIGN §5).

An article is one canonical URL: the same story reached through a second feed (or the same
entry processed twice) finds the stored article; then only matches, outbox keys and queue
items not stored yet are added, so nothing is recorded or sent twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, Insert, bindparam, select

from monitor.crashpoints import crashpoint
from monitor.model import Article
from monitor.store.dialect import upsert_for
from monitor.store.entries import mark_seen
from monitor.store.history import update_novelty
from monitor.store.outbox import enqueue
from monitor.store.records import DigestItemRecord, MatchRecord, NoveltyRecord, OutboxRecord
from monitor.store.schema import articles, digest_queue, matches


def url_key(canonical_url: str) -> str:
    """The unique key of an article: SHA-256 of its canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8", "surrogatepass")).hexdigest()


def _insert_article(
    conn: Connection, feed_id: int, entry_identity: str, article: Article, now: datetime
) -> tuple[int, bool]:
    key = url_key(article.canonical_url)
    row = {
        "url_key": key,
        "feed_id": feed_id,
        "entry_identity": entry_identity,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "text": article.text,
        "published": article.published,
        "language": article.language,
        "author": article.author,
        "tags": list(article.tags),
        "content_hash": article.content_hash,
        "text_source": article.text_source,
        "fallback_reason": article.fallback_reason,
        "fetched_at": now,
    }
    new_id = conn.execute(_insert_new(conn.dialect.name), row).scalar_one_or_none()
    if new_id is not None:
        return new_id, True
    old_id = conn.execute(_ID_BY_KEY, {"b_key": key}).scalar_one()
    return old_id, False


@cache
def _insert_new(dialect: str) -> Insert:
    return (
        upsert_for(dialect, articles)
        .on_conflict_do_nothing(index_elements=["url_key"])
        .returning(articles.c.id)
    )


_ID_BY_KEY = select(articles.c.id).where(articles.c.url_key == bindparam("b_key"))


def _insert_matches(
    conn: Connection, article_id: int, records: Sequence[MatchRecord], now: datetime
) -> dict[str, int]:
    """Insert new matches; returns every stored match id of the given rules."""
    if not records:
        return {}
    conn.execute(
        _insert_match(conn.dialect.name),
        [
            {
                "article_id": article_id,
                "rule": m.rule,
                "evidence": dict(m.evidence),
                "created_at": now,
            }
            for m in records
        ],
    )
    rows = conn.execute(
        select(matches.c.rule, matches.c.id).where(
            matches.c.article_id == article_id, matches.c.rule.in_([m.rule for m in records])
        )
    )
    return dict(rows.all())


def _enqueue_digests(
    conn: Connection,
    article_id: int,
    items: Sequence[DigestItemRecord],
    match_ids: dict[str, int],
    now: datetime,
) -> None:
    if not items:
        return
    missing = sorted({i.rule for i in items} - match_ids.keys())
    if missing:
        raise ValueError(f"digest items name rules without a match: {', '.join(missing)}")
    sent = set(
        conn.execute(
            select(digest_queue.c.digest).where(
                digest_queue.c.article_id == article_id, digest_queue.c.sent_run.is_not(None)
            )
        ).scalars()
    )
    rows = [
        {
            "digest": i.digest,
            "article_id": article_id,
            "match_id": match_ids[i.rule],
            "enqueued_at": now,
        }
        for i in items
        if i.digest not in sent  # a story goes out once per digest name
    ]
    if rows:
        conn.execute(_insert_queued(conn.dialect.name), rows)


@cache
def _insert_match(dialect: str) -> Insert:
    return upsert_for(dialect, matches).on_conflict_do_nothing(
        index_elements=["article_id", "rule"]
    )


@cache
def _insert_queued(dialect: str) -> Insert:
    return upsert_for(dialect, digest_queue).on_conflict_do_nothing(
        index_elements=["digest", "match_id"]
    )


def save_article(
    conn: Connection,
    feed_id: int,
    entry_identity: str,
    article: Article,
    *,
    match_records: Sequence[MatchRecord],
    outbox_records: Sequence[OutboxRecord],
    digest_items: Sequence[DigestItemRecord],
    novelty_records: Sequence[NoveltyRecord],
    now: datetime,
) -> int | None:
    """Store everything one processed article produced (see Store.save_article)."""
    mark_seen(conn, feed_id, [entry_identity], now)
    article_id, created = _insert_article(conn, feed_id, entry_identity, article, now)
    match_ids = _insert_matches(conn, article_id, match_records, now)
    enqueue(conn, outbox_records, now, article_id)
    _enqueue_digests(conn, article_id, digest_items, match_ids, now)
    update_novelty(conn, novelty_records, article_id)
    crashpoint("store.in_ingest")  # everything written, the commit not yet done
    return article_id if created else None
