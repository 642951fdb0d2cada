"""``monitor outbox``: what is waiting to be delivered, what died, and retrying it.

``monitor outbox [--json]`` lists pending, retrying, sending and dead rows and the last
dead-letter notice; ``monitor outbox retry ID`` / ``--dead`` puts dead letters back in the
queue; ``monitor outbox send`` delivers what is due now (for setups without the daemon).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from monitor.commands.common import config_option, default_config_path
from monitor.config.schema import Config
from monitor.delivery.notice import NOTICE_META
from monitor.delivery.relay import RowOutcome
from monitor.services import utc_now
from monitor.store import OutboxRow

LISTED_STATES = ("pending", "leased", "dead")


def row_state(row: OutboxRow) -> str:
    """``pending``, ``retrying`` (pending after a failure), ``sending`` (leased) or ``dead``."""
    if row.state == "leased":
        return "sending"
    if row.state == "pending" and row.last_error:
        return "retrying"
    return row.state


def row_json(row: OutboxRow) -> dict[str, Any]:
    """One line of ``monitor outbox --json`` (the payload left out)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": row.id,
        "key": row.key,
        "channel": row.channel,
        "digest": row.digest,
        "state": row_state(row),
        "attempts": row.attempts,
        "queued_at": iso(row.queued_at),
        "next_attempt_at": iso(row.next_attempt_at) if row.state == "pending" else None,
        "last_error": row.last_error,
        "dead_at": iso(row.dead_at),
    }


def relative(when: datetime | None, now: datetime) -> str:
    """``in 5m`` / ``3h ago`` / ``never``."""
    if when is None:
        return "never"
    delta = (when - now).total_seconds()
    span = abs(delta)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if span >= 2 * size:
            text = f"{span / size:.0f}{unit}"
            break
    else:
        text = f"{span:.0f}s"
    return f"in {text}" if delta > 0 else f"{text} ago"


def print_outcomes(outcomes: Sequence[RowOutcome]) -> int:
    """One line per relayed row; returns how many were not delivered."""
    now = utc_now()
    failed = 0
    for o in outcomes:
        target = f"{o.digest or o.key} → {o.channel}"
        if o.verdict == "delivered":
            click.echo(f"  {target}: delivered")
            continue
        failed += 1
        if o.verdict == "retry":
            click.secho(f"  {target}: will retry {relative(o.at, now)}: {o.reason}", fg="yellow")
        else:
            click.secho(f"  {target}: dead letter (#{o.id}): {o.reason}", fg="red")
    return failed


def _config(ctx: click.Context, path: Path | None) -> Config:
    from monitor.cli import load_or_exit

    found = ctx.find_object(dict) or {}
    chosen = path or found.get("config_path") or default_config_path()
    return load_or_exit(Path(chosen)).config


_sub_config = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The config file (default: the one given to `monitor outbox`).",
)


@click.group("outbox", invoke_without_command=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
@click.option("--limit", default=200, show_default=True, help="List at most this many rows.")
@click.pass_context
def outbox_cmd(ctx: click.Context, config_path: Path, as_json: bool, limit: int) -> None:
    """List the outbox: pending, retrying, sending and dead rows, and the last dead-letter
    notice. Subcommands retry dead letters and send what is due."""
    ctx.ensure_object(dict)["config_path"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    from monitor.store import open_store

    config = _config(ctx, config_path)
    store = open_store(config.storage)
    try:
        rows = store.outbox_rows(LISTED_STATES, limit=limit)
        counts = store.outbox_counts()
        notice = store.get_meta(NOTICE_META)
    finally:
        store.close()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row_json(row), ensure_ascii=False))
        return
    now = utc_now()
    click.echo(
        f"outbox: {counts['pending']} pending (retrying included), {counts['leased']} sending, "
        f"{counts['dead']} dead, {counts['delivered']} delivered"
    )
    for row in rows:
        state = row_state(row)
        what = f"{row.digest} → {row.channel}" if row.digest else f"{row.key} → {row.channel}"
        if state == "dead":
            when = f"dead {relative(row.dead_at, now)}"
        elif state == "sending":
            when = f"lease ends {relative(row.lease_until, now)}"
        else:
            when = f"next attempt {relative(row.next_attempt_at, now)}"
        color = {"dead": "red", "retrying": "yellow"}.get(state)
        click.secho(
            f"#{row.id} {state:<8} {what}  ({row.attempts} attempt(s), {when}, "
            f"queued {relative(row.queued_at, now)})",
            fg=color,
        )
        click.echo(f"    key {row.key}")
        if row.last_error:
            click.echo(f"    {row.last_error}")
    listed = sum(counts[state] for state in LISTED_STATES)
    if listed > len(rows):
        click.echo(f"… and {listed - len(rows)} more (--limit)")
    if isinstance(notice, dict):
        at = datetime.fromisoformat(str(notice["at"]))
        sent_to = ", ".join(notice.get("sent_to") or ()) or "log only"
        click.echo(
            f"last dead-letter notice {relative(at, now)}: {notice['count']} message(s) ({sent_to})"
        )
    if counts["dead"]:
        click.echo("retry them with `monitor outbox retry --dead` (or `retry ID`)")


@outbox_cmd.command("retry")
@_sub_config
@click.argument("row_id", metavar="ID", type=int, required=False)
@click.option("--dead", "all_dead", is_flag=True, help="Every dead letter.")
@click.pass_context
def retry_cmd(
    ctx: click.Context, config_path: Path | None, row_id: int | None, all_dead: bool
) -> None:
    """Put dead letter ID (or, with --dead, every dead letter) back in the queue, due now."""
    from monitor.store import open_store

    if (row_id is None) == (not all_dead):
        raise click.UsageError("give a row ID or --dead")
    config = _config(ctx, config_path)
    store = open_store(config.storage)
    try:
        count = store.requeue(row_id, utc_now())
    finally:
        store.close()
    if row_id is not None and count == 0:
        click.echo(f"no dead letter #{row_id}", err=True)
        sys.exit(1)
    click.echo(f"{count} message(s) queued again; the relay sends them on its next pass")


@outbox_cmd.command("send")
@_sub_config
@click.pass_context
def send_cmd(ctx: click.Context, config_path: Path | None) -> None:
    """Deliver the rows that are due now (what the daemon's relay does on each tick).
    Exit status 1 if a row was not delivered."""
    from monitor.commands.delivery import delivery_for

    config = _config(ctx, config_path)

    async def relay() -> list[RowOutcome]:
        async with delivery_for(config) as delivery:
            return (await delivery.relay_all(utc_now())).outcomes

    outcomes = asyncio.run(relay())
    click.echo(f"{len(outcomes)} row(s) due")
    if print_outcomes(outcomes):
        sys.exit(1)
