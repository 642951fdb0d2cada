"""Delivery commands: ``preview``, ``send-test``, ``digest`` (and ``outbox``, from
``monitor.commands.outbox``). ``COMMANDS`` lists them for the CLI to register."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import click

from monitor.commands.common import config_option
from monitor.commands.outbox import outbox_cmd, print_outcomes
from monitor.config.schema import Config
from monitor.delivery import Delivery, DigestRun, RowOutcome, UnknownDigestError, build_pending
from monitor.digests import BuiltDigest, Story, StoryGroup, TemplateProblem, render_message
from monitor.digests.sample import sample_digests
from monitor.errors import DeliveryError, PermanentDeliveryError
from monitor.model import Message, Snippet
from monitor.services import utc_now


@asynccontextmanager
async def delivery_for(config: Config) -> AsyncIterator[Delivery]:
    """A ``Delivery`` over the config's store and a fresh HTTP client."""
    from monitor.http import HttpClient
    from monitor.store import open_store

    store = open_store(config.storage)
    try:
        async with HttpClient(config.http) as http:
            yield Delivery(config, store, http)
    finally:
        store.close()


def _write(path: Path, data: str) -> None:
    path.write_text(data, encoding="utf-8")


def _preview_files(message: Message, out: Path, name: str) -> list[Path]:
    from monitor.channels.files import RECIPIENTS, SENDER
    from monitor.channels.mime import build_email

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "html": message.html,
        "txt": message.text,
        "eml": build_email(
            message, f"preview:{name}", sender=SENDER, recipients=RECIPIENTS
        ).as_string(),
        "slack.json": json.dumps(list(message.slack), ensure_ascii=False, indent=2) + "\n",
        "webhook.json": json.dumps(message.payload, ensure_ascii=False, indent=2) + "\n",
    }
    paths = []
    for suffix, data in files.items():
        path = out / f"{name}.{suffix}"
        _write(path, data)
        paths.append(path)
    return paths


@click.command("preview")
@config_option
@click.option("--digest", "name", help="Only this digest (default: every digest).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("preview"),
    show_default=True,
    help="The folder for the files.",
)
def preview_cmd(config_path: Path, name: str | None, out: Path) -> None:
    """Render the next digest from what is pending (sample stories when nothing is) into
    .html, .txt, .eml, .slack.json and .webhook.json files. Nothing is sent or consumed."""
    from monitor.cli import load_or_exit
    from monitor.digests import Templates
    from monitor.store import open_store

    config = load_or_exit(config_path).config
    names = [name] if name else [d.name for d in config.digests]
    if not names:
        raise click.ClickException("the config has no digests")
    templates = Templates(config.templates_dir)
    now = utc_now()
    store = open_store(config.storage)
    try:
        for digest_name in names:
            try:
                built = build_pending(store, config, digest_name, now=now)
            except UnknownDigestError as exc:
                raise click.ClickException(str(exc)) from None
            if built.queue_ids:
                source = f"{len(built.queue_ids)} pending item(s), {built.story_count} story(ies)"
                if built.already_sent:
                    source += f", {built.already_sent} already sent"
            else:
                digest = next(d for d in config.digests if d.name == digest_name)
                built = replace(
                    sample_digests()[0], name=digest.name, title=digest.title or digest.name
                )
                source = "nothing pending: sample stories"
            try:
                message = render_message(built, templates)
            except TemplateProblem as exc:
                raise click.ClickException(str(exc)) from None
            paths = _preview_files(message, out, digest_name)
            click.echo(f"{digest_name}: {source}; subject {message.subject!r}")
            for path in paths:
                click.echo(f"  {path}")
    finally:
        store.close()


def probe_digest(now: datetime) -> BuiltDigest:
    """The one-story digest ``send-test`` sends."""
    text = "If you can read this, monitor can deliver digests to this channel."
    start = text.index("monitor")
    story = Story(
        title="Test message from monitor",
        url="",
        feed="monitor",
        published=now,
        seen=now,
        rules=("send-test",),
        terms=("monitor",),
        snippets=(Snippet("text", text, ((start, start + len("monitor")),)),),
        sources=(),
        novel_actors=(),
        priority=0,
        group="Test",
        article_ids=(),
    )
    return BuiltDigest(
        name="send-test",
        title="monitor test message",
        timezone="UTC",
        created=now,
        groups=(StoryGroup("Test", (story,)),),
        more=0,
        queue_ids=(),
        already_sent=0,
        merged=0,
        send=True,
    )


@click.command("send-test")
@config_option
@click.option("--channel", "names", multiple=True, help="This channel (repeatable; default: all).")
def send_test_cmd(config_path: Path, names: tuple[str, ...]) -> None:
    """Send one test message to each channel (or the named ones) and report each outcome.
    Exit status 1 if any channel failed."""
    from monitor.cli import load_or_exit

    config = load_or_exit(config_path).config
    unknown = [n for n in names if n not in config.channels]
    if unknown:
        known = ", ".join(sorted(config.channels)) or "none configured"
        raise click.UsageError(f"unknown channel(s) {', '.join(unknown)} (channels: {known})")
    targets = list(names or config.channels)
    if not targets:
        raise click.ClickException("the config has no channels")

    async def send_all() -> list[tuple[str, DeliveryError | None]]:
        now = utc_now()
        async with delivery_for(config) as delivery:
            message = render_message(probe_digest(now), delivery.templates)
            results: list[tuple[str, DeliveryError | None]] = []
            for name in targets:
                try:
                    await delivery.channels[name].send(message, f"test:{name}:{now.isoformat()}")
                    results.append((name, None))
                except DeliveryError as exc:
                    results.append((name, exc))
            return results

    failed = 0
    for name, error in asyncio.run(send_all()):
        if error is None:
            click.echo(f"{name}: sent")
            continue
        failed += 1
        kind = "permanent" if isinstance(error, PermanentDeliveryError) else "transient"
        click.secho(f"{name}: failed ({kind}): {error.reason}", fg="red")
    if failed:
        sys.exit(1)


def _describe(run: DigestRun) -> str:
    if run.status == "nothing":
        return "nothing pending"
    if run.status == "duplicate":
        return f"run {run.run_key} was already done"
    text = f"{run.stories} story(ies) from {run.consumed} queued item(s)"
    if run.already_sent:
        text += f", {run.already_sent} already sent before"
    return text if run.queued else text + "; nothing to send"


@click.command("digest")
@config_option
@click.argument("name")
@click.option("--now", "right_now", is_flag=True, help="Run it now, whatever its schedule.")
def digest_cmd(config_path: Path, name: str, right_now: bool) -> None:
    """Run digest NAME and deliver it: the slot that is due (once), or with --now right away.
    Exit status 1 if a message of the run was not delivered (it stays in the outbox)."""
    from monitor.cli import load_or_exit

    config = load_or_exit(config_path).config

    async def run() -> tuple[list[DigestRun], list[RowOutcome]]:
        now = utc_now()
        async with delivery_for(config) as delivery:
            digest = next((d for d in config.digests if d.name == name), None)
            if digest is None:
                raise UnknownDigestError(name, (d.name for d in config.digests))
            if right_now or digest.immediate:
                runs = [await delivery.run_now(name, now)]
            else:
                runs = await delivery.run_due(now, [name])
            report = await delivery.relay_all(now)
            keys = {k for r in runs for k in r.keys}
            return runs, [o for o in report.outcomes if o.key in keys]

    try:
        runs, outcomes = asyncio.run(run())
    except UnknownDigestError as exc:
        raise click.ClickException(str(exc)) from None
    except TemplateProblem as exc:
        raise click.ClickException(str(exc)) from None
    if not runs:
        click.echo(f"{name}: no slot due since the last run (use --now to run it anyway)")
    for r in runs:
        click.echo(f"{name}: {_describe(r)}")
    if print_outcomes(outcomes):
        sys.exit(1)


COMMANDS: list[click.Command] = [preview_cmd, send_test_cmd, digest_cmd, outbox_cmd]
