"""``monitor opml import|export``: feed lists in and out of config.yaml.

Import edits config.yaml in place with ruamel.yaml's round-trip mode, so the user's comments,
order and formatting survive; feeds already configured (same URL) are skipped, and a name
that is taken gets a numeric suffix. The edited file is validated before it replaces the old
one, and written atomically.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from monitor.commands.common import config_option
from monitor.opml import OpmlError, OpmlFeed, parse_opml, render_opml


@click.group()
def opml() -> None:
    """Import or export the feed list as OPML."""


def _unique_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


def merge_feeds(doc: CommentedMap, feeds: list[OpmlFeed]) -> list[OpmlFeed]:
    """Append ``feeds`` not yet in ``doc['feeds']`` (by URL); return those added."""
    seq = doc.get("feeds")
    if seq is None:
        seq = CommentedSeq()
        doc["feeds"] = seq
    urls = {str(f.get("url", "")) for f in seq if isinstance(f, dict)}
    names = {str(f.get("name", "")) for f in seq if isinstance(f, dict)}
    added: list[OpmlFeed] = []
    for feed in feeds:
        if feed.url in urls:
            continue
        entry = CommentedMap()
        entry["name"] = _unique_name(feed.name, names)
        entry["url"] = feed.url
        if feed.tags:
            tags = CommentedSeq(feed.tags)
            tags.fa.set_flow_style()
            entry["tags"] = tags
        entry.fa.set_flow_style()
        seq.append(entry)
        urls.add(feed.url)
        names.add(str(entry["name"]))
        added.append(feed)
    return added


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@opml.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
def import_cmd(file: Path, config_path: Path) -> None:
    """Add the feeds of an OPML FILE to the config (skipping URLs already there)."""
    from monitor.config import ConfigError, load_config

    try:
        feeds = parse_opml(file.read_bytes())
    except OpmlError as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    yaml = YAML()
    yaml.preserve_quotes = True
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    doc = yaml.load(text) or CommentedMap()
    added = merge_feeds(doc, feeds)
    if not added:
        click.echo(f"no new feeds: all {len(feeds)} are already in {config_path}")
        return
    with tempfile.NamedTemporaryFile(
        "w", suffix=".yaml", dir=config_path.parent or ".", delete=False, encoding="utf-8"
    ) as tmp:
        yaml.dump(doc, tmp)
    try:
        load_config(Path(tmp.name))
        _atomic_write(config_path, Path(tmp.name).read_text(encoding="utf-8"))
    except ConfigError as exc:
        raise click.ClickException(f"the imported config would be invalid:\n{exc}") from exc
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    click.echo(
        f"added {len(added)} feed(s) to {config_path}; {len(feeds) - len(added)} already there"
    )


@opml.command("export")
@config_option
def export_cmd(config_path: Path) -> None:
    """Write the configured feeds as OPML to standard output."""
    from monitor.config import load_config

    config = load_config(config_path).config
    feeds = [OpmlFeed(f.name, f.url, f.tags) for f in config.feeds]
    sys.stdout.buffer.write(render_opml(feeds))
