"""Ingest every real feed snapshot in shared/data through the whole pipeline.

Each file is served by a local HTTP server; ``monitor once`` polls them all in one pass.
Zero crashes, and per feed the entries we store equal what feedparser itself finds in the
same bytes (counted by the same identity: GUID, else link, else title + summary). JSON Feed,
which feedparser cannot read, must yield its items.
"""

from __future__ import annotations

import io
from pathlib import Path

import feedparser
import pytest

from tests.conftest import DATA
from tests.farm import Farm
from tests.pipeline_kit import feeds_state, run_cli, write_config

DIRS = ["news", "mideast", "realworld-oddities", "rss2email-cases"]
TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".xml": "application/xml",
    ".json": "application/feed+json",
}


def snapshots() -> list[Path]:
    files = []
    for d in DIRS:
        files += [
            p
            for p in sorted((DATA / "feeds" / d).rglob("*"))
            if p.is_file() and p.suffix in TYPES and p.name != "manifest.json"
        ]
    return files


def feedparser_identities(body: bytes, headers: dict[str, str]) -> set[str]:
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    out = set()
    for e in parsed.entries:
        ident = (e.get("id") or "").strip() or (e.get("link") or "").strip()
        out.add(ident or f"{e.get('title', '')}|{e.get('summary', '')}")
    return out


@pytest.mark.skipif(not (DATA / "feeds").exists(), reason="shared/data is not beside the repo")
def test_every_snapshot_is_ingested_like_feedparser_reads_it(farm: Farm, tmp_path: Path) -> None:
    feeds = []
    expected: dict[str, int] = {}
    for i, path in enumerate(snapshots()):
        name = f"{i:03d}-{path.parent.name}-{path.name}"
        headers = {"Content-Type": TYPES[path.suffix]}
        body = path.read_bytes()
        farm.add(f"/{i}", body, headers=headers)
        feeds.append((name, farm.url(f"/{i}")))
        lowered = {k.lower(): v for k, v in headers.items()}
        expected[name] = len(feedparser_identities(body, lowered))
    config = write_config(
        tmp_path, feeds, extra_defaults="fetch_articles: false\nmax_new_per_poll: 100000", rules=""
    )

    result = run_cli("once", "-c", str(config))

    assert result.exit_code == 0, result.output
    state = feeds_state(config)
    assert len(state) == len(feeds) > 90
    for name, want in expected.items():
        row = state[name]
        if name.endswith("jsonfeed.json"):
            assert want == 0, "feedparser reads no JSON Feed"
            assert row["entries"] == 10, row
        elif want == 0:
            assert row["last_error"], f"{name}: no entries must be reported as an error"
        else:
            assert row["entries"] == want, (name, row)
            assert row["last_error"] is None, (name, row)
