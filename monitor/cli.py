"""The ``monitor`` command line (click). Each command is a thin shell over the pipeline."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import click

from monitor import __version__
from monitor.commands.common import EX_CONFIG, config_option
from monitor.commands.delivery import COMMANDS as DELIVERY_COMMANDS
from monitor.commands.feeds import feeds_cmd, once_cmd
from monitor.commands.opml import opml
from monitor.commands.rules import backtest, test_rule
from monitor.commands.status import COMMANDS as STATUS_COMMANDS
from monitor.config import ConfigError, LoadedConfig, format_issues, load_config
from monitor.logs import add_secrets, config_secrets, configure_logging


def load_or_exit(path: Path) -> LoadedConfig:
    """Load the config and check its templates, or print every error and exit 78 (EX_CONFIG)."""
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        click.echo(format_issues(exc), err=True)
        click.echo(f"{path}: {len(exc.issues)} error(s)", err=True)
        sys.exit(EX_CONFIG)
    except OSError as exc:
        click.echo(f"{path}: cannot read the config: {exc.strerror}", err=True)
        sys.exit(EX_CONFIG)
    if loaded.config.templates_dir is not None:
        from monitor.digests.templates import check_templates

        problems = check_templates(loaded.config.templates_dir)
        if problems:
            click.echo("\n".join(f"{path}: templates_dir: {p}" for p in problems), err=True)
            sys.exit(EX_CONFIG)
    add_secrets(config_secrets(loaded.config))  # never logged from here on
    return loaded


@click.group()
@click.version_option(__version__, prog_name="monitor")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """News monitoring and alerting: feeds in, cleaned articles matched, digests out."""
    configure_logging(verbose)  # JSON lines unless stderr is a terminal; libraries with -vv


@main.command()
@config_option
def check(config_path: Path) -> None:
    """Validate the config: exit 0, or 78 with every error as file:line:col: key: message."""
    loaded = load_or_exit(config_path)
    c = loaded.config
    click.echo(
        f"{config_path}: OK ({len(c.feeds)} feeds, {len(c.entities)} entities, "
        f"{len(c.rules)} rules, {len(c.digests)} digests, {len(c.channels)} channels)"
    )


@main.command()
@click.option("--url", help="Fetch this page (through the guarded HTTP client).")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read this saved HTML page.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Use this config's HTTP settings (optional).",
)
def extract(url: str | None, file: Path | None, as_json: bool, config_path: Path | None) -> None:
    """Show what the cleaner keeps of one page: title, author, date, language, text."""
    from monitor.articles.download import Page, download_page
    from monitor.articles.extract import extract_page
    from monitor.config.schema import HttpSettings
    from monitor.errors import ExtractError, FetchError
    from monitor.http import HttpClient

    if (url is None) == (file is None):
        raise click.UsageError("give exactly one of --url or --file")
    settings = load_or_exit(config_path).config.http if config_path else HttpSettings()

    async def fetch(target: str) -> Page:
        async with HttpClient(settings) as client:
            return await download_page(client, target, max_bytes=settings.max_article_bytes)

    try:
        if url is not None:
            downloaded = asyncio.run(fetch(url))
        else:
            assert file is not None
            downloaded = Page(file.resolve().as_uri(), file.read_bytes(), None)
        source = downloaded.url
        page = extract_page(downloaded.body, source, encoding=downloaded.charset)
    except (FetchError, ExtractError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(
            json.dumps(
                {
                    "url": source,
                    "title": page.title,
                    "author": page.author,
                    "published": page.published.isoformat() if page.published else None,
                    "language": page.language,
                    "text": page.text,
                    "removed": list(page.removed_blocks),
                },
                ensure_ascii=False,
            )
        )
        return
    click.secho(page.title or "(no title)", bold=True)
    meta = [
        page.author or "",
        page.published.isoformat() if page.published else "",
        page.language or "",
    ]
    click.echo(" · ".join(m for m in meta if m) or "(no author, date or language)")
    click.echo()
    click.echo(page.text)
    if page.removed_blocks:
        click.echo()
        click.secho(f"removed {len(page.removed_blocks)} block(s):", dim=True, err=True)
        for block in page.removed_blocks:
            click.secho(f"  - {block}", dim=True, err=True)


main.add_command(once_cmd)
main.add_command(feeds_cmd)
main.add_command(opml)
main.add_command(test_rule)
main.add_command(backtest)
for _command in DELIVERY_COMMANDS:
    main.add_command(_command)
for _command in STATUS_COMMANDS:
    main.add_command(_command)


@main.command()
@config_option
def run(config_path: Path) -> None:
    """Run the daemon: poll due feeds on their schedule until SIGTERM or Ctrl-C."""
    from monitor.lockfile import AlreadyRunning
    from monitor.runner import run_daemon
    from monitor.web import ListenError

    loaded = load_or_exit(config_path)
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    try:
        run_daemon(config_path, loaded)
    except (AlreadyRunning, ListenError) as exc:
        raise click.ClickException(str(exc)) from exc
