"""``monitor once`` (one pass over every feed) and ``monitor feeds`` (their state)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from monitor.commands.common import config_option
from monitor.config.schema import Feed
from monitor.ingest import NewArticle
from monitor.logs import redact
from monitor.pipeline import FeedReport, poll_feeds, transient_state
from monitor.services import Services, services, utc_now
from monitor.store import FeedState


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def article_json(item: NewArticle) -> dict[str, Any]:
    """The ``monitor once --json`` line for one new article."""
    a = item.article
    return {
        "feed": a.feed,
        "url": a.url,
        "title": a.title,
        "published": _iso(a.published),
        "language": a.language,
        "text_chars": len(a.text),
        "text_source": a.text_source,
        "matches": [
            {"rule": m.rule, "terms": list(m.terms)}
            | ({"novel_actors": list(m.novel_actors)} if m.novel_actors else {})
            for m in item.alerts.found
        ],
    }


@click.command("once")
@config_option
@click.option(
    "--dry-run", is_flag=True, help="Fetch, extract and match, but record and send nothing."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per new article on stdout.")
def once_cmd(config_path: Path, dry_run: bool, as_json: bool) -> None:
    """One pass over all feeds: fetch, extract, match, record, and deliver what is due."""
    from monitor.cli import load_or_exit

    loaded = load_or_exit(config_path)
    reports = asyncio.run(_once(loaded, dry_run=dry_run, as_json=as_json))
    new = sum(len(r.articles) for r in reports)
    failed = [r for r in reports if r.error]
    click.echo(
        f"{len(reports)} feed(s) polled, {new} new article(s), {len(failed)} failed"
        + (" (dry run: nothing recorded)" if dry_run else ""),
        err=True,
    )
    for r in failed:
        click.echo(redact(f"  {r.feed}: {r.error}"), err=True)


async def _once(loaded: Any, *, dry_run: bool, as_json: bool) -> list[FeedReport]:
    config = loaded.config
    async with services(loaded, dry_run=dry_run) as svc:
        now = utc_now()
        if not dry_run:
            svc.store.sync_feeds(config.feeds, now)
        known = {s.name: s for s in svc.store.list_feeds()}
        states = [
            known[f.name] if f.name in known else transient_state(f, now)
            for f in config.feeds
            if f.enabled
        ]
        states = [s for s in states if s.status == "active"]
        show = _progress(len(states))

        def done(report: FeedReport) -> None:
            show(report)
            if as_json:
                for item in report.articles:
                    sys.stdout.write(json.dumps(article_json(item), ensure_ascii=False) + "\n")
                sys.stdout.flush()

        reports = await poll_feeds(svc, states, on_done=done)
        if not dry_run:
            await _deliver_due(svc)
        return reports


async def _deliver_due(svc: Services) -> None:
    """Send what is due after the pass: immediate digests, scheduled slots that came due."""
    from monitor.delivery import Delivery

    delivery = Delivery(svc.config, svc.store, svc.client)
    now = svc.clock()
    runs = await delivery.run_due(now)
    runs += await delivery.flush_immediate(now)
    report = await delivery.relay_all(now)
    if runs or report.claimed:
        click.echo(
            f"{sum(1 for r in runs if r.queued)} digest(s) queued; {report.delivered} "
            f"message(s) delivered, {report.retried} to retry, {report.dead} dead",
            err=True,
        )


def _progress(total: int) -> Callable[[FeedReport], None]:
    """A progress line on stderr when it is a terminal and there are many feeds."""
    if not sys.stderr.isatty() or total < 5:
        return lambda _report: None
    count = 0

    def show(report: FeedReport) -> None:
        nonlocal count
        count += 1
        width = 30
        filled = width * count // total
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r[{bar}] {count}/{total} {report.feed[:40]:<40}")
        if count == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


@dataclass(frozen=True)
class FeedRow:
    """One line of ``monitor feeds``: the configured feed joined with its stored state."""

    name: str
    url: str
    status: str
    disabled_reason: str | None
    last_poll: datetime | None
    last_success: datetime | None
    entries: int
    errors_in_a_row: int
    last_error: str | None
    next_poll: datetime | None

    @classmethod
    def of(cls, feed: Feed, s: FeedState | None) -> FeedRow:
        if s is None:
            status = "never polled" if feed.enabled else "disabled in config"
            return cls(feed.name, feed.url, status, None, None, None, 0, 0, None, None)
        return cls(
            name=feed.name,
            url=s.url,
            status=s.status if feed.enabled else "disabled in config",
            disabled_reason=s.disabled_reason,
            last_poll=s.last_polled_at,
            last_success=s.last_success_at,
            entries=s.entries_count,
            errors_in_a_row=s.error_count,
            last_error=s.last_error if s.error_count else None,
            next_poll=s.next_poll_at if s.status == "active" and feed.enabled else None,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_poll", "last_success", "next_poll"):
            data[key] = _iso(data[key])
        return data


@click.command("feeds")
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
def feeds_cmd(config_path: Path, as_json: bool) -> None:
    """Each feed: name, URL, status, last poll, entries stored, last error, next poll."""
    from monitor.cli import load_or_exit
    from monitor.store import open_store

    config = load_or_exit(config_path).config
    store = open_store(config.storage)
    try:
        known = {s.name: s for s in store.list_feeds()}
    finally:
        store.close()
    rows = [FeedRow.of(feed, known.get(feed.name)) for feed in config.feeds]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.to_json(), ensure_ascii=False))
        return
    now = utc_now()
    for row in rows:
        reason = f" ({row.disabled_reason})" if row.disabled_reason else ""
        click.secho(f"{row.name}  [{row.status}{reason}]", bold=True)
        click.echo(f"  {row.url}")
        click.echo(
            f"  last poll {_ago(row.last_poll, now)}, {row.entries} entries, "
            f"next poll {_ago(row.next_poll, now)}"
        )
        if row.last_error:
            click.secho(f"  error ({row.errors_in_a_row} in a row): {row.last_error}", fg="red")


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    delta = (when - now).total_seconds()
    span = abs(delta)
    if span < 120:
        text = f"{span:.0f}s"
    elif span < 7200:
        text = f"{span / 60:.0f}m"
    elif span < 172800:
        text = f"{span / 3600:.1f}h"
    else:
        text = f"{span / 86400:.1f}d"
    return f"in {text}" if delta > 0 else f"{text} ago"
