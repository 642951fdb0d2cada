"""Helpers for end-to-end tests: write a config for a local farm, run CLI commands."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from click.testing import CliRunner, Result

from monitor.cli import main

FIXTURES = Path(__file__).parent / "fixtures"

RULES = """
entities:
  hamas: [Hamas, حماس]
  syria: [Syria, Damascus, Assad]
  hezbollah: [Hezbollah]
rules:
  - name: hamas-damascus
    query: hamas NEAR/30 damascus
    notify: [daily]
  - name: axis-new-alignments
    query: '"axis of resistance"'
    novelty: {track: [hamas, hezbollah, syria], within: 30, unseen_for: 90d}
    notify: [urgent]
digests:
  - {name: daily, schedule: "0 7 * * *", timezone: Europe/London, channels: [files]}
  - {name: urgent, immediate: true, channels: [files]}
channels:
  files: {type: file, path: digests/}
"""


def write_config(
    tmp: Path,
    feeds: Sequence[tuple[str, str]],
    *,
    extra_defaults: str = "",
    http: str = "",
    rules: str = RULES,
    timeout: str = "3s",
) -> Path:
    """A config polling ``feeds`` (name, url) on loopback, state under ``tmp``."""
    lines = [
        f"storage: sqlite:///{tmp / 'state' / 'monitor.db'}",
        "http:",
        '  allow_networks: ["127.0.0.1/32"]',
        f"  timeout: {timeout}",
        "  connect_timeout: 2s",
        *(f"  {line}" for line in http.splitlines() if line.strip()),
        "defaults:",
        "  backfill: 3650d",
        *(f"  {line}" for line in extra_defaults.splitlines() if line.strip()),
        "feeds:",
        *(f"  - {{name: {json.dumps(n)}, url: {json.dumps(u)}}}" for n, u in feeds),
        rules,
    ]
    path = tmp / "config.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def rss(items: Sequence[dict[str, Any]], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document; each item dict may have title, link, guid, description, date."""
    out = [
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link>"
    ]
    for item in items:
        out.append("<item>")
        for key in ("title", "link", "guid", "description"):
            if key in item:
                out.append(f"<{key}>{escape(str(item[key]))}</{key}>")
        if "date" in item:
            out.append(f"<pubDate>{item['date']}</pubDate>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "".join(out).encode()


def seed_story() -> dict[str, Any]:
    """One feed item about the seed's story, published now (for ``rss``)."""
    return {
        "title": "Hamas in Damascus",
        "guid": "g1",
        "date": rfc822(),
        "description": "Hamas rejoins the axis of resistance, said Damascus.",
    }


def rfc822(when: datetime | None = None, *, ago: timedelta = timedelta(0)) -> str:
    return format_datetime((when or datetime.now(UTC)) - ago)


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def feeds_state(config: Path) -> dict[str, dict[str, Any]]:
    result = run_cli("feeds", "-c", str(config), "--json")
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json_lines(result.stdout)}
