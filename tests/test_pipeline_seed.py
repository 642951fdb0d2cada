"""The seed story end to end: a feed item linking to a page wrapped in a donation appeal.

A real local HTTP server serves the feed and the page; ``monitor once`` fetches, cleans,
matches and records them in a real SQLite store.
"""

from __future__ import annotations

from pathlib import Path

from monitor.store import open_store
from tests.farm import Farm
from tests.pipeline_kit import FIXTURES, feeds_state, json_lines, rfc822, rss, run_cli, write_config

SEED_PAGE = (FIXTURES / "articles" / "seed-independent.html").read_bytes()
HTML = {"Content-Type": "text/html; charset=utf-8"}


def serve_seed(farm: Farm) -> None:
    farm.add("/seed", SEED_PAGE, headers=HTML)
    feed = rss(
        [
            {
                "title": "Militant Hamas group back in Damascus after years of tension",
                "link": farm.url("/seed?utm_source=rss&utm_medium=feed"),
                "guid": "independent-b2206312",
                "description": "Two senior officials from Hamas visited Damascus.",
                "date": rfc822(),
            }
        ]
    )
    farm.add("/feed.xml", feed, headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'})


def test_seed_story_is_cleaned_matched_and_explained(farm: Farm, tmp_path: Path) -> None:
    serve_seed(farm)
    config = write_config(tmp_path, [("independent", farm.url("/feed.xml"))])

    result = run_cli("once", "-c", str(config), "--json")

    assert result.exit_code == 0, result.output
    [line] = json_lines(result.stdout)
    assert line["feed"] == "independent"
    assert line["title"] == "Militant Hamas group back in Damascus after years of tension"
    assert line["language"] == "en"
    assert line["published"] is not None
    assert line["text_source"] == "page"
    rules = {m["rule"]: m["terms"] for m in line["matches"]}
    assert set(rules) == {"hamas-damascus", "axis-new-alignments"}
    assert rules["hamas-damascus"] == ["hamas", "damascus"]
    novelty = next(m for m in line["matches"] if m["rule"] == "axis-new-alignments")
    assert novelty["novel_actors"][0] == "hamas"

    store = open_store(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    try:
        [entry] = store.pending_digest("daily")
        assert entry.text.startswith("Two senior officials")
        assert "Your support" not in entry.text
        assert "donation" not in entry.text
        assert entry.canonical_url == farm.url("/seed")  # tracking parameters dropped
        snippet = entry.evidence["snippets"][0]
        marked = {snippet["text"][a:b].casefold() for a, b in snippet["highlights"]}
        assert {"hamas", "damascus"} <= marked
        assert store.pending_digest("urgent") == []  # the immediate alert went out
    finally:
        store.close()


def test_second_pass_sends_a_conditional_get_and_adds_nothing(farm: Farm, tmp_path: Path) -> None:
    serve_seed(farm)
    config = write_config(tmp_path, [("independent", farm.url("/feed.xml"))])
    assert run_cli("once", "-c", str(config)).exit_code == 0

    second = run_cli("once", "-c", str(config), "--json")

    assert second.exit_code == 0
    assert json_lines(second.stdout) == []
    last = farm.hits("/feed.xml")[-1]
    assert last.headers.get("if-none-match") == '"v1"'
    assert len(farm.hits("/seed")) == 1  # the page was fetched once
    state = feeds_state(config)["independent"]
    assert state["entries"] == 1
    assert state["last_error"] is None


def test_dry_run_records_nothing(farm: Farm, tmp_path: Path) -> None:
    serve_seed(farm)
    config = write_config(tmp_path, [("independent", farm.url("/feed.xml"))])

    dry = run_cli("once", "-c", str(config), "--dry-run", "--json")

    assert dry.exit_code == 0, dry.output
    assert [line["feed"] for line in json_lines(dry.stdout)] == ["independent"]
    assert "nothing recorded" in dry.stderr
    real = run_cli("once", "-c", str(config), "--json")
    assert len(json_lines(real.stdout)) == 1  # still new after the dry run


def test_once_delivers_the_immediate_alert_to_the_files_channel(farm: Farm, tmp_path: Path) -> None:
    serve_seed(farm)
    config = write_config(tmp_path, [("independent", farm.url("/feed.xml"))])

    result = run_cli("once", "-c", str(config))

    assert result.exit_code == 0, result.output
    assert "1 message(s) delivered" in result.stderr
    written = list((tmp_path / "digests").glob("*.html"))
    assert len(written) == 1  # the novelty alert (urgent); the daily digest waits for 07:00
    html = written[0].read_text(encoding="utf-8")
    assert "Militant Hamas group back in Damascus" in html
    assert "Your support" not in html


def test_an_appeal_inside_the_body_is_learned_from_the_hosts_other_articles(
    farm: Farm, tmp_path: Path
) -> None:
    pages = FIXTURES / "articles"
    items = []
    for i in (1, 2, 3):
        farm.add(f"/other-{i}", (pages / f"independent-other-{i}.html").read_bytes(), headers=HTML)
        items.append(
            {
                "title": f"Other story {i}",
                "link": farm.url(f"/other-{i}"),
                "guid": f"o{i}",
                "date": rfc822(),
            }
        )
    farm.add("/feed.xml", rss(items), headers={"Content-Type": "application/rss+xml"})
    config = write_config(tmp_path, [("independent", farm.url("/feed.xml"))])
    assert run_cli("once", "-c", str(config)).exit_code == 0

    farm.add("/seed-inbody", (pages / "seed-independent-inbody.html").read_bytes(), headers=HTML)
    seed = {
        "title": "Militant Hamas group back in Damascus after years of tension",
        "link": farm.url("/seed-inbody"),
        "guid": "seed",
        "date": rfc822(),
    }
    farm.add("/feed.xml", rss([seed, *items]), headers={"Content-Type": "application/rss+xml"})
    result = run_cli("once", "-c", str(config), "--json")

    assert result.exit_code == 0, result.output
    [line] = json_lines(result.stdout)
    assert line["title"].startswith("Militant Hamas group")
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    try:
        [entry] = [e for e in store.pending_digest("daily") if e.url.endswith("/seed-inbody")]
        assert entry.text.startswith("Two senior officials")
        assert "Your support" not in entry.text
        assert "Khalil al-Hayeh" in entry.text
    finally:
        store.close()
