"""``monitor status`` (the daemon's state, read from the store) and ``monitor healthcheck``
(exit 0 or 1 for container health checks). Neither needs the daemon's HTTP server;
``healthcheck`` asks its ``/readyz`` when ``http.listen`` is set."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from monitor.commands.common import config_option
from monitor.config import Config, ConfigError, load_config
from monitor.config.units import parse_listen
from monitor.health import Readiness, human
from monitor.services import utc_now
from monitor.snapshot import FeedStatus, Snapshot, read_readiness, take_snapshot

READYZ_TIMEOUT = 5.0
COLORS = {"silent": "yellow", "failing": "red", "pending": "cyan", "disabled": "bright_black"}


def ago(when: datetime | None, now: datetime) -> str:
    return "never" if when is None else f"{human(max(now - when, now - now))} ago"


@click.command("status")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_cmd(config_path: Path, as_json: bool) -> None:
    """The daemon's state from the store: readiness, last config reload, each feed's health
    (ok, silent, failing, pending, disabled), the outbox and dead letters."""
    from monitor.cli import load_or_exit
    from monitor.store import open_store

    config = load_or_exit(config_path).config
    store = open_store(config.storage)
    try:
        snap = take_snapshot(store, config, utc_now())
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(snap.to_json(), ensure_ascii=False))
    else:
        print_status(snap)


def print_status(snap: Snapshot) -> None:
    """The human form of ``monitor status``."""
    now, ready = snap.now, snap.readiness
    tick = f"last poll tick {ago(ready.last_tick, now)}"
    if ready.ready:
        click.secho(f"monitor: ready ({tick})", fg="green", bold=True)
    else:
        click.secho("monitor: NOT READY", fg="red", bold=True)
        for reason in ready.reasons:
            click.echo(f"  {reason}")
    _print_reload(snap.reload, now)
    counts = ", ".join(f"{n} {verdict}" for verdict, n in snap.health_counts().items() if n)
    click.echo(f"feeds: {counts or 'none configured'}")
    for feed in snap.feeds:
        _print_feed(feed, now)
    o = snap.outbox
    click.echo(
        f"outbox: {o.get('pending', 0)} pending, {o.get('leased', 0)} sending, "
        f"{o.get('dead', 0)} dead, {o.get('delivered', 0)} delivered"
    )
    notice = snap.last_dead_letter
    if o.get("dead"):
        when = ""
        if notice and isinstance(notice.get("at"), str):
            when = f"; last notice {ago(datetime.fromisoformat(notice['at']), now)}"
        click.secho(
            f"dead letters: {o['dead']}{when} (see `monitor outbox`, "
            "retry with `monitor outbox retry --dead`)",
            fg="red",
        )


def _print_reload(reload: dict[str, Any] | None, now: datetime) -> None:
    if not reload:
        click.echo("config: no load recorded by a daemon yet")
        return
    at = datetime.fromisoformat(reload["at"]) if isinstance(reload.get("at"), str) else None
    sizes = f"{reload.get('feeds', '?')} feeds, {reload.get('rules', '?')} rules"
    if reload.get("ok"):
        click.echo(f"config: loaded {ago(at, now)} ({sizes})")
        return
    click.secho(
        f"config: the last reload ({ago(at, now)}) was REJECTED; "
        f"still running the previous config ({sizes}):",
        fg="red",
    )
    for error in reload.get("errors") or ():
        click.echo(f"  {error}")


def _print_feed(feed: FeedStatus, now: datetime) -> None:
    verdict = feed.health.verdict
    label = verdict if verdict == "ok" else verdict.upper()
    click.secho(f"  {label:<9}{feed.name}", fg=COLORS.get(verdict), nl=False)
    click.echo(f"  (last poll {ago(feed.last_poll, now)}): {feed.health.reason}")


@click.command("healthcheck")
@config_option
def healthcheck_cmd(config_path: Path) -> None:
    """Exit 0 when the daemon is healthy, else 1 with one line saying why: for Docker's
    HEALTHCHECK. Asks the daemon's /readyz when http.listen is set, else reads the store."""
    try:
        config = load_config(config_path).config
    except ConfigError as exc:
        _verdict(False, f"the config is invalid ({len(exc.issues)} error(s); see `monitor check`)")
        return
    except OSError as exc:
        _verdict(False, f"cannot read the config: {exc.strerror or exc}")
        return
    listen = config.http.listen
    served = listen is not None and parse_listen(listen)[1] != 0  # port 0: unknown port
    ready = _ask_readyz(listen) if listen and served else _read_store(config)
    if ready.ready:
        _verdict(True, f"last poll tick {ago(ready.last_tick, utc_now())}")
    else:
        _verdict(False, "; ".join(ready.reasons))


def _verdict(ok: bool, why: str) -> None:
    click.echo(f"{'healthy' if ok else 'unhealthy'}: {why}")
    sys.exit(0 if ok else 1)


def _read_store(config: Config) -> Readiness:
    from monitor.store import open_store
    from monitor.store.engine import normalize_url

    url = normalize_url(config.storage)
    database = url.database
    sqlite_file = url.get_backend_name() == "sqlite" and database and database != ":memory:"
    if sqlite_file and database and not Path(database).exists():
        return Readiness(False, (f"no state database at {database} (has the daemon run?)",))
    try:
        store = open_store(config.storage, migrate=False)
        try:
            current, head = store.schema_revision()
            if current != head:
                return Readiness(
                    False, (f"the store's schema is {current}, this code needs {head}",)
                )
            return read_readiness(store, config, utc_now())
        finally:
            store.close()
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return Readiness(False, (f"the store cannot be read: {first[0] if first else exc}",))


def _ask_readyz(listen: str) -> Readiness:
    host, port = parse_listen(listen)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    url = f"http://[{host}]:{port}/readyz" if ":" in host else f"http://{host}:{port}/readyz"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=READYZ_TIMEOUT) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            data = json.loads(exc.read())
        except ValueError:
            data = {"ready": False, "reasons": [f"{url} answered {exc.code}"]}
    except (OSError, ValueError) as exc:
        return Readiness(False, (f"{url}: {getattr(exc, 'reason', None) or exc}",))
    tick = data.get("last_tick")
    return Readiness(
        bool(data.get("ready")),
        tuple(str(r) for r in data.get("reasons") or ()),
        datetime.fromisoformat(tick) if isinstance(tick, str) else None,
    )


COMMANDS = [status_cmd, healthcheck_cmd]
