"""The command line as a user meets it: check, extract, run (as a real process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from monitor.store import open_store
from tests.conftest import ROOT
from tests.farm import Farm
from tests.pipeline_kit import FIXTURES, json_lines, rfc822, rss, run_cli, write_config


def test_check_accepts_the_bundled_config() -> None:
    result = run_cli("check", "-c", str(ROOT / "config.yaml"))
    assert result.exit_code == 0, result.output
    assert "OK (5 feeds" in result.stdout


def test_check_lists_every_error_with_its_place_and_exits_78(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text(
        "feeds:\n"
        "  - {name: a, url: 'https://example.org/feed', interval: 10 minutes}\n"
        "rules:\n"
        "  - {name: r, query: '(hamas AND damascus', notify: [weekly]}\n",
        encoding="utf-8",
    )
    result = run_cli("check", "-c", str(bad))
    assert result.exit_code == 78
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{bad}:2:") and "feeds[0].interval" in line for line in lines)
    assert any(line.startswith(f"{bad}:4:") and "rules[0].query" in line for line in lines)
    assert any("rules[0].notify" in line and "weekly" in line for line in lines)


def test_check_reports_a_broken_template_as_a_config_error(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "email.txt.j2").write_text("{{ digest.no_such_field }}\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("templates_dir: templates\n", encoding="utf-8")
    result = run_cli("check", "-c", str(config))
    assert result.exit_code == 78
    assert "email.txt.j2" in result.stderr


def test_extract_file_shows_the_clean_text(tmp_path: Path) -> None:
    page = FIXTURES / "articles" / "seed-independent.html"
    result = run_cli("extract", "--file", str(page), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["title"] == "Militant Hamas group back in Damascus after years of tension"
    assert data["language"] == "en"
    assert data["text"].startswith("Two senior officials")
    assert "Your support" not in data["text"]
    assert data["removed"], "what was dropped is listed"


def _daemon(config: Path, *, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_daemon_polls_refuses_a_twin_and_stops_cleanly_on_sigterm(
    farm: Farm, tmp_path: Path
) -> None:
    farm.add(
        "/feed",
        rss(
            [
                {
                    "title": "Hamas in Damascus",
                    "guid": "g1",
                    "date": rfc822(),
                    "description": "Hamas rejoins the axis of resistance, said Damascus.",
                }
            ]
        ),
        headers={"Content-Type": "application/rss+xml"},
    )
    config = write_config(
        tmp_path, [("f", farm.url("/feed"))], extra_defaults="fetch_articles: false"
    )
    first = _daemon(config, log=tmp_path / "first.log")
    try:
        db = f"sqlite:///{tmp_path / 'state' / 'monitor.db'}"

        def polled() -> bool:
            if not (tmp_path / "state" / "monitor.db").exists():
                return False
            store = open_store(db)
            try:
                return any(f.last_success_at for f in store.list_feeds())
            finally:
                store.close()

        _wait_for(polled)
        twin = subprocess.run(
            [sys.executable, "-m", "monitor", "run", "-c", str(config)],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert twin.returncode != 0
        assert b"another monitor daemon" in twin.stderr
        # the novelty rule notifies the immediate digest, written by the file channel
        _wait_for(lambda: any((tmp_path / "digests").glob("*.json")))
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=15) == 0
    finally:
        if first.poll() is None:
            first.kill()
    files = sorted(p.suffix for p in (tmp_path / "digests").iterdir())
    assert {".eml", ".html", ".json"} <= set(files)


def test_once_json_lines_are_valid_for_a_real_feed_snapshot(farm: Farm, tmp_path: Path) -> None:
    body = (ROOT.parent / "shared/data/feeds/mideast/aljazeera_all.rss").read_bytes()
    farm.add("/aj", body, headers={"Content-Type": "application/rss+xml"})
    config = write_config(
        tmp_path, [("aljazeera", farm.url("/aj"))], extra_defaults="fetch_articles: false"
    )
    result = run_cli("once", "-c", str(config), "--json")
    lines = json_lines(result.stdout)
    assert lines, result.output
    for line in lines:
        assert set(line) >= {
            "feed",
            "url",
            "title",
            "published",
            "language",
            "text_chars",
            "matches",
        }
