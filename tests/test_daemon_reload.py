"""Live edits of config.yaml while the daemon runs (a real process, real files, loopback)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.farm import Farm
from tests.pipeline_kit import rfc822, rss, write_config

RSS = {"Content-Type": "application/rss+xml"}
FAST = "daemon: {tick: 1s, shutdown_grace: 5s}\n"
URGENT_ONLY = """
entities:
  hamas: [Hamas]
rules:
  - {name: hamas-any, query: hamas, notify: [urgent]}
digests:
  - {name: urgent, immediate: true, channels: [files]}
channels:
  files: {type: file, path: digests/}
"""


def wait_for(predicate: Callable[[], bool], timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def delivered_titles(tmp: Path) -> set[str]:
    titles: set[str] = set()
    for path in (tmp / "digests").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        text = json.dumps(data)
        titles.update(t for t in ("Alpha story", "Beta story", "Gamma story") if t in text)
    return titles


def test_edits_apply_live_and_a_broken_config_keeps_the_old_one(farm: Farm, tmp_path: Path) -> None:
    farm.add(
        "/a",
        rss(
            [
                {
                    "title": "Alpha story on Hamas",
                    "guid": "a1",
                    "date": rfc822(),
                    "description": "Hamas.",
                }
            ]
        ),
        headers=RSS,
    )
    farm.add(
        "/b",
        rss(
            [
                {
                    "title": "Beta story on Hamas",
                    "guid": "b1",
                    "date": rfc822(),
                    "description": "Hamas.",
                }
            ]
        ),
        headers=RSS,
    )
    config = write_config(
        tmp_path,
        [("a", farm.url("/a"))],
        rules=FAST + URGENT_ONLY,
        extra_defaults="fetch_articles: false\npoll_interval: 1s\nmin_interval: 1s",
    )
    log = (tmp_path / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "-c", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for(lambda: delivered_titles(tmp_path) == {"Alpha story"})

        # 1. add a feed by rewriting the file (write-then-rename, as editors do)
        text = config.read_text(encoding="utf-8")
        edited = text.replace(
            f'  - {{name: "a", url: "{farm.url("/a")}"}}',
            f'  - {{name: "a", url: "{farm.url("/a")}"}}\n'
            f'  - {{name: "b", url: "{farm.url("/b")}"}}',
        )
        assert edited != text
        tmp = config.with_suffix(".tmp")
        tmp.write_text(edited, encoding="utf-8")
        tmp.replace(config)
        wait_for(lambda: "Beta story" in delivered_titles(tmp_path))

        # 2. a broken config is rejected with its location; the old one keeps working
        config.write_text(edited.replace("tick: 1s", "tick: soon"), encoding="utf-8")
        wait_for(lambda: "config reload rejected" in (tmp_path / "daemon.log").read_text())
        logged = (tmp_path / "daemon.log").read_text()
        assert f"{config}:" in logged
        assert "daemon.tick" in logged
        farm.add(
            "/a",
            rss(
                [
                    {
                        "title": "Gamma story on Hamas",
                        "guid": "a2",
                        "date": rfc822(),
                        "description": "Hamas.",
                    },
                    {
                        "title": "Alpha story on Hamas",
                        "guid": "a1",
                        "date": rfc822(),
                        "description": "Hamas.",
                    },
                ]
            ),
            headers=RSS,
        )
        wait_for(lambda: "Gamma story" in delivered_titles(tmp_path))
        assert proc.poll() is None

        # 3. fixed again: picked up
        config.write_text(edited.replace("hamas-any", "hamas-all"), encoding="utf-8")
        wait_for(
            lambda: (
                "config reloaded"
                in (tmp_path / "daemon.log").read_text().split("config reload rejected")[-1]
            )
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
