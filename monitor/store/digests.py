"""Scheduled digests: the queue of matches waiting for a digest, and the runs that sent them.

A story (article) goes out at most once per digest name: a run marks every queued item of its
articles as sent, and items for an article already sent in that digest are never queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update

from monitor.store.dialect import chunks, upsert
from monitor.store.outbox import enqueue
from monitor.store.records import DigestEntry, OutboxRecord, SentItem
from monitor.store.schema import articles, digest_queue, digest_runs, feeds, matches


def pending(conn: Connection, digest: str) -> list[DigestEntry]:
    """Queued, unsent items of ``digest``, oldest first."""
    stmt = (
        select(
            digest_queue.c.id.label("queue_id"),
            digest_queue.c.enqueued_at,
            matches.c.rule,
            matches.c.evidence,
            articles,
            feeds.c.name.label("feed"),
        )
        .join(matches, matches.c.id == digest_queue.c.match_id)
        .join(articles, articles.c.id == digest_queue.c.article_id)
        .join(feeds, feeds.c.id == articles.c.feed_id)
        .where(digest_queue.c.digest == digest, digest_queue.c.sent_run.is_(None))
        .order_by(digest_queue.c.enqueued_at, digest_queue.c.id)
    )
    result = []
    for row in conn.execute(stmt):
        m = row._mapping
        result.append(
            DigestEntry(
                queue_id=m["queue_id"],
                digest=digest,
                rule=m["rule"],
                evidence=dict(m["evidence"]),
                enqueued_at=m["enqueued_at"],
                article_id=m["id"],
                feed=m["feed"],
                url=m["url"],
                canonical_url=m["canonical_url"],
                title=m["title"],
                text=m["text"],
                published=m["published"],
                language=m["language"],
                author=m["author"],
                tags=tuple(m["tags"]),
                content_hash=m["content_hash"],
                fetched_at=m["fetched_at"],
            )
        )
    return result


class QueueTaken(RuntimeError):
    """Another run consumed some of the queue items a run was built from (two runs raced):
    its message is stale, so nothing of it may be recorded."""

    def __init__(self, digest: str, run_key: str) -> None:
        super().__init__(f"digest {digest!r}: run {run_key} lost its queue items to another run")


def record_run(
    conn: Connection,
    digest: str,
    run_key: str,
    *,
    queue_ids: Sequence[int],
    outbox_records: Sequence[OutboxRecord],
    now: datetime,
) -> int | None:
    """Record a digest run (see Store.record_digest_run); None if ``run_key`` exists.
    Raises QueueTaken, to roll the transaction back, when another run consumed any of
    ``queue_ids`` since they were read."""
    run_id = conn.execute(
        upsert(conn, digest_runs)
        .values(digest=digest, key=run_key, items=0, created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(digest_runs.c.id)
    ).scalar_one_or_none()
    if run_id is None:
        return None
    wanted = sorted(set(queue_ids))
    taken = 0
    for chunk in chunks(wanted):
        taken += conn.execute(
            update(digest_queue)
            .where(
                digest_queue.c.id.in_(chunk),
                digest_queue.c.digest == digest,
                digest_queue.c.sent_run.is_(None),
            )
            .values(sent_run=run_id)
        ).rowcount
    if taken < len(wanted):
        raise QueueTaken(digest, run_key)
    article_ids: set[int] = set()
    for chunk in chunks(wanted):
        article_ids.update(
            conn.execute(
                select(digest_queue.c.article_id).where(
                    digest_queue.c.id.in_(chunk),
                    digest_queue.c.digest == digest,
                    digest_queue.c.sent_run == run_id,
                )
            ).scalars()
        )
    for chunk in chunks(sorted(article_ids)):
        conn.execute(
            update(digest_queue)
            .where(
                digest_queue.c.digest == digest,
                digest_queue.c.article_id.in_(chunk),
                digest_queue.c.sent_run.is_(None),
            )
            .values(sent_run=run_id)
        )
    conn.execute(
        update(digest_runs).where(digest_runs.c.id == run_id).values(items=len(article_ids))
    )
    enqueue(conn, outbox_records, now)
    return int(run_id)


def sent_since(conn: Connection, digest: str, since: datetime) -> list[SentItem]:
    """Articles sent in ``digest`` by runs at or after ``since`` (for story de-duplication)."""
    stmt = (
        select(
            articles.c.id,
            articles.c.canonical_url,
            articles.c.title,
            articles.c.content_hash,
            digest_runs.c.id.label("run_id"),
            digest_runs.c.created_at.label("sent_at"),
        )
        .distinct()
        .select_from(digest_queue)
        .join(digest_runs, digest_runs.c.id == digest_queue.c.sent_run)
        .join(articles, articles.c.id == digest_queue.c.article_id)
        .where(digest_queue.c.digest == digest, digest_runs.c.created_at >= since)
        .order_by(digest_runs.c.id, articles.c.id)
    )
    return [
        SentItem(
            article_id=r.id,
            canonical_url=r.canonical_url,
            title=r.title,
            content_hash=r.content_hash,
            run_id=r.run_id,
            sent_at=r.sent_at,
        )
        for r in conn.execute(stmt)
    ]
