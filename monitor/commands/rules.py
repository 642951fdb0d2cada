"""``monitor test-rule`` and ``monitor backtest``: try a query, or a config's rules on a corpus.

``test-rule QUERY --text|--file|--url`` prints ``match`` or ``no match``, the terms that fired
with their token positions, and the highlighted snippets (exit status 0 on a match, 1 on no
match, 2 on a bad query). ``backtest --corpus FILE.jsonl`` runs every enabled rule of the
config over JSON Lines records (``id``, ``title``, ``text``, optional ``source``,
``language``, ``published``) and prints how many records each rule matched; ``--json`` also
prints one line per match. Novelty rules use the records' ``published`` times and an
in-memory history, so the first sighting in the corpus counts as new.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from monitor.commands.common import config_option
from monitor.config.schema import Config, HttpSettings, Rule
from monitor.matching.index import RuleIndex
from monitor.matching.query import QueryError, parse_query
from monitor.model import Document, Match

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _mark(text: str, spans: Sequence[tuple[int, int]], color: bool) -> str:
    out, pos = [], 0
    for a, b in spans:
        word = text[a:b]
        out += [text[pos:a], click.style(word, fg="yellow", bold=True) if color else f"[{word}]"]
        pos = b
    return "".join([*out, text[pos:]])


def describe(match: Match, color: bool) -> list[str]:
    """The lines ``test-rule`` prints for a match: terms, positions, snippets."""
    lines = [f"terms: {', '.join(match.terms)}"]
    for term in match.terms:
        where = [f"{h.field} {h.start}" for h in match.hits if h.term == term]
        more = f" (+{len(where) - 8} more)" if len(where) > 8 else ""
        lines.append(f"  {term}: {', '.join(where[:8])}{more}")
    if match.actors:
        lines.append(f"actors near the anchor: {', '.join(match.actors)}")
    for snippet in match.snippets:
        lines.append(f"[{snippet.field}] {_mark(snippet.text, snippet.highlights, color)}")
    return lines


def _load(config_path: Path) -> Config:
    from monitor.cli import load_or_exit

    return load_or_exit(config_path).config


def _document(
    page: Path | None, url: str | None, text: str | None, config: Config | None
) -> Document:
    if text is not None:
        return Document(title="", text=text)
    from monitor.articles.download import download_page
    from monitor.articles.extract import extract_page
    from monitor.errors import MonitorError
    from monitor.http import HttpClient

    settings = config.http if config else HttpSettings()

    async def fetch(address: str) -> tuple[str, bytes, str | None]:
        async with HttpClient(settings) as client:
            got = await download_page(client, address, max_bytes=settings.max_article_bytes)
            return got.url, got.body, got.charset

    try:
        if page is not None:
            final, body, charset = page.resolve().as_uri(), page.read_bytes(), None
        else:
            final, body, charset = asyncio.run(fetch(url or ""))
        extracted = extract_page(body, final, encoding=charset)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from exc
    return Document(title=extracted.title or "", text=extracted.text, language=extracted.language)


@click.command("test-rule")
@click.argument("query")
@click.option("--text", help="Match this text.")
@click.option(
    "--file",
    "page",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Match the article extracted from this HTML file.",
)
@click.option("--url", help="Download this page and match its article.")
@click.option(
    "-c",
    "--config",
    "config_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Use this config's entities (and HTTP settings for --url).",
)
def test_rule(
    query: str, text: str | None, page: Path | None, url: str | None, config_path: Path | None
) -> None:
    """Show whether QUERY matches a text, an HTML file or a web page, and why."""
    if sum(x is not None for x in (text, page, url)) != 1:
        raise click.UsageError("give exactly one of --text, --file or --url")
    config = _load(config_path) if config_path else None
    entities = config.entities if config else {}
    try:
        parse_query(query, entities)
    except QueryError as exc:
        click.echo(f"error: {exc}\n  {query}\n  {' ' * (max(exc.column, 1) - 1)}^", err=True)
        sys.exit(2)
    doc = _document(page, url, text, config)
    index = RuleIndex.compile([Rule(name="test-rule", query=query)], entities)
    matches = index.match(doc)
    if doc.title:
        click.echo(f"title: {doc.title}")
    if not matches:
        click.echo("no match")
        sys.exit(1)
    click.echo("match")
    color = sys.stdout.isatty()
    for line in describe(matches[0], color):
        click.echo(line, color=color)


def _published(value: Any, fallback: datetime) -> datetime:
    if not isinstance(value, str) or not value:
        return fallback
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_corpus(lines: Iterable[str], name: str) -> Iterator[tuple[Any, Document, Any]]:
    """``(id, document, published)`` for each JSON Lines record; bad lines are errors."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{name}:{number}: not JSON: {exc}") from exc
        if not isinstance(row, dict):
            raise click.ClickException(f"{name}:{number}: expected a JSON object")
        doc = Document(
            title=str(row.get("title") or ""),
            text=str(row.get("text") or ""),
            feed=str(row.get("source") or ""),
            language=row.get("language") or None,
        )
        yield row.get("id", number), doc, row.get("published")


class Backtest:
    """A config's rules run over records in order, with per-rule counts; novelty rules are
    settled on an in-memory history, the records' ``published`` times serving as the clock."""

    def __init__(self, index: RuleIndex) -> None:
        self.index = index
        self.counts = {rule.name: 0 for rule in index.rules}
        self.articles = 0
        self._history: dict[tuple[str, str], datetime] = {}
        self._now = _EPOCH

    def run(self, doc: Document, published: Any = None) -> tuple[Match, ...]:
        self.articles += 1
        self._now = _published(published, self._now)
        matches = self.index.match(doc, snippets=False)
        decision = self.index.decide_novelty(matches, self._history, self._now)
        self._history.update({(s.rule, s.actor): s.seen_at for s in decision.sightings})
        for match in decision.matches:
            self.counts[match.rule] += 1
        return decision.matches


def _json_line(ident: Any, match: Match) -> str:
    row: dict[str, Any] = {"id": ident, "rule": match.rule, "terms": list(match.terms)}
    if match.novel_actors:
        row["novel_actors"] = list(match.novel_actors)
    return json.dumps(row, ensure_ascii=False)


def _report(counts: Mapping[str, int], articles: int, seconds: float, out: IO[str]) -> None:
    width = max([len("rule"), *map(len, counts)])
    click.echo(f"{'rule':<{width}}  matches", file=out)
    for rule, count in counts.items():
        click.echo(f"{rule:<{width}}  {count:>7}", file=out)
    total = sum(counts.values())
    click.echo(f"{articles} articles, {total} matches in {seconds:.1f} s", file=out)


@click.command("backtest")
@config_option
@click.option(
    "--corpus",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON Lines: id, title, text, and optionally source, language, published.",
)
@click.option("--json", "as_json", is_flag=True, help="Also print one JSON line per match.")
def backtest(config_path: Path, corpus: Path, as_json: bool) -> None:
    """Run every enabled rule of the config over a corpus and count the matches."""
    run = Backtest(RuleIndex.from_config(_load(config_path)))
    started = time.monotonic()
    show = sys.stderr.isatty()
    size = corpus.stat().st_size
    with (
        corpus.open(encoding="utf-8") as fh,
        click.progressbar(length=size, label="backtest", file=sys.stderr)
        if show
        else _NoBar() as bar,
    ):
        for ident, doc, published in read_corpus(_advancing(fh, bar), str(corpus)):
            for match in run.run(doc, published):
                if as_json:
                    click.echo(_json_line(ident, match))
    out = sys.stderr if as_json else sys.stdout
    _report(run.counts, run.articles, time.monotonic() - started, out)


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _advancing(lines: Iterable[str], bar: Any) -> Iterator[str]:
    for line in lines:
        bar.update(len(line.encode("utf-8")))
        yield line
