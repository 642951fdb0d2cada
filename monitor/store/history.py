"""What the store learns over time: novelty history (rule × actor → first/last seen) and
per-host boilerplate (paragraph fingerprints × how many articles carried them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, Insert, case, select

from monitor.store.dialect import chunks, upsert_for
from monitor.store.records import NoveltyRecord
from monitor.store.schema import host_blocks, novelty

MAX_FINGERPRINT = 64


def update_novelty(
    conn: Connection, records: Sequence[NoveltyRecord], article_id: int | None
) -> None:
    """Widen each (rule, actor)'s first/last seen to include the record's time."""
    if records:
        conn.execute(
            _widen_novelty(conn.dialect.name),
            [
                {
                    "rule": r.rule,
                    "actor": r.actor,
                    "first_seen": r.seen_at,
                    "last_seen": r.seen_at,
                    "article_id": article_id,
                }
                for r in records
            ],
        )


@cache
def _widen_novelty(dialect: str) -> Insert:
    stmt = upsert_for(dialect, novelty)
    newer = stmt.excluded.last_seen > novelty.c.last_seen
    return stmt.on_conflict_do_update(
        index_elements=["rule", "actor"],
        set_={
            "first_seen": case(
                (stmt.excluded.first_seen < novelty.c.first_seen, stmt.excluded.first_seen),
                else_=novelty.c.first_seen,
            ),
            "last_seen": case((newer, stmt.excluded.last_seen), else_=novelty.c.last_seen),
            "article_id": case((newer, stmt.excluded.article_id), else_=novelty.c.article_id),
        },
    )


def novelty_last_seen(conn: Connection, rule: str, actors: Iterable[str]) -> dict[str, datetime]:
    """When each of ``actors`` was last seen with ``rule``; absent actors are not in the dict."""
    result: dict[str, datetime] = {}
    for chunk in chunks(sorted(set(actors))):
        rows = conn.execute(
            select(novelty.c.actor, novelty.c.last_seen).where(
                novelty.c.rule == rule, novelty.c.actor.in_(chunk)
            )
        )
        result.update(dict(rows.all()))
    return result


def host_block_counts(conn: Connection, host: str, min_articles: int = 1) -> dict[str, int]:
    """Paragraph fingerprint → number of articles of ``host`` that carried it."""
    rows = conn.execute(
        select(host_blocks.c.fingerprint, host_blocks.c.articles).where(
            host_blocks.c.host == host, host_blocks.c.articles >= min_articles
        )
    )
    return dict(rows.all())


def record_host_blocks(
    conn: Connection, host: str, fingerprints: Iterable[str], now: datetime
) -> None:
    """Count one more article of ``host`` for each distinct fingerprint."""
    distinct = sorted(set(fingerprints))
    too_long = [f for f in distinct if len(f) > MAX_FINGERPRINT]
    if too_long:
        raise ValueError(f"fingerprints longer than {MAX_FINGERPRINT}: {too_long[0][:80]!r}")
    if not distinct:
        return
    # One statement for all rows (executemany), built once per dialect: compiled once and
    # cached, where a multi-row VALUES of varying length is compiled afresh for each article.
    conn.execute(
        _count_blocks(conn.dialect.name),
        [
            {"host": host, "fingerprint": f, "articles": 1, "first_seen": now, "last_seen": now}
            for f in distinct
        ],
    )


@cache
def _count_blocks(dialect: str) -> Insert:
    stmt = upsert_for(dialect, host_blocks)
    return stmt.on_conflict_do_update(
        index_elements=["host", "fingerprint"],
        set_={
            "articles": host_blocks.c.articles + 1,
            "last_seen": case(
                (stmt.excluded.last_seen > host_blocks.c.last_seen, stmt.excluded.last_seen),
                else_=host_blocks.c.last_seen,
            ),
        },
    )
