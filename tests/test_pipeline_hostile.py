"""Hostile input end to end: every broken feed is isolated, reported and retried; others go on.

All servers are real and on loopback. Each bad feed below shares one config with a good one.
"""

from __future__ import annotations

import gzip
import socket
import threading
from pathlib import Path

import pytest

from monitor.store import open_store
from tests.farm import Farm, Reply, Request
from tests.pipeline_kit import feeds_state, json_lines, rfc822, rss, run_cli, write_config

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
GOOD = rss(
    [
        {
            "title": "Hamas delegation in Damascus",
            "link": "http://127.0.0.1:9/x",
            "guid": "good-1",
            "description": "Hamas officials met in Damascus.",
            "date": rfc822(),
        }
    ]
)


class Listener:
    """A TCP listener on another loopback address that records whether anyone connected."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def no_fetch_config(tmp_path: Path, feeds: list[tuple[str, str]], **kw: str) -> Path:
    return write_config(tmp_path, feeds, extra_defaults="fetch_articles: false", **kw)


def test_broken_feeds_are_isolated_and_reported(farm: Farm, tmp_path: Path) -> None:
    bomb = gzip.compress(b"<rss>" + b" " * (60 << 20))
    farm.add("/good", GOOD, headers=RSS)
    farm.add("/malformed", b"<rss><channel><title>x</ti", headers=RSS)
    other = GOOD.replace(b"good-1", b"other-1").replace(b":9/x", b":9/y")
    farm.add("/truncated", other[: other.index(b"</item>")], headers=RSS)  # yields its item
    farm.add(
        "/html",
        b"<!doctype html><html><body>Not a feed</body></html>",
        headers={"Content-Type": "text/html"},
    )
    farm.add("/huge", b"<rss>" + b"x" * (2 << 20), headers=RSS)
    farm.add("/bomb", bomb, headers={**RSS, "Content-Encoding": "gzip"})
    farm.add("/loop", status=302, headers={"Location": "/loop"})
    farm.add("/drip", GOOD, headers=RSS, drip=0.05)
    farm.add("/gone", status=410)
    farm.add("/busy", status=429, headers={"Retry-After": "3600"})
    names = [
        "good",
        "truncated",
        "malformed",
        "html",
        "huge",
        "bomb",
        "loop",
        "drip",
        "gone",
        "busy",
    ]
    config = no_fetch_config(
        tmp_path, [(n, farm.url(f"/{n}")) for n in names], http="max_feed_bytes: 1MiB"
    )

    result = run_cli("once", "-c", str(config), "--json")

    assert result.exit_code == 0, result.output
    assert sorted(line["feed"] for line in json_lines(result.stdout)) == ["good", "truncated"]
    state = feeds_state(config)
    assert state["good"]["last_error"] is None
    assert state["good"]["entries"] == 1
    expected = {
        "malformed": "",  # broken XML with no usable entry
        "html": "",
        "huge": "cap of 1048576 bytes",
        "bomb": "cap of 1048576 bytes",
        "loop": "redirect",
        "drip": "",
        "busy": "429",
    }
    for name, words in expected.items():
        assert state[name]["last_error"], f"{name} should record its error"
        assert words.casefold() in state[name]["last_error"].casefold(), state[name]
        assert state[name]["errors_in_a_row"] == 1
    assert state["gone"]["status"] == "disabled"
    assert "410" in (state["gone"]["disabled_reason"] or "")
    assert "8 failed" in result.stderr


def test_failures_back_off_and_never_touch_seen_state(farm: Farm, tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky(_req: Request) -> Reply:
        calls["n"] += 1
        return Reply(200, RSS, GOOD) if calls["n"] == 1 else Reply(500, {}, b"oops")

    farm.add_handler("/flaky", flaky)
    config = no_fetch_config(tmp_path, [("flaky", farm.url("/flaky"))])
    assert run_cli("once", "-c", str(config)).exit_code == 0
    first = feeds_state(config)["flaky"]
    assert run_cli("once", "-c", str(config)).exit_code == 0
    assert run_cli("once", "-c", str(config)).exit_code == 0
    after = feeds_state(config)["flaky"]
    assert after["errors_in_a_row"] == 2
    assert "500" in after["last_error"]
    assert after["entries"] == first["entries"] == 1
    assert after["last_success"] == first["last_success"]
    # exponential backoff: the next poll is further away than the 10-minute interval
    from datetime import datetime

    gap = datetime.fromisoformat(after["next_poll"]) - datetime.fromisoformat(after["last_poll"])
    assert gap.total_seconds() > 2 * 600


def test_item_links_to_forbidden_addresses_are_refused_before_connecting(
    farm: Farm, tmp_path: Path
) -> None:
    listener = Listener("127.0.0.2")
    try:
        feed = rss(
            [
                {
                    "title": "Internal",
                    "guid": "i-1",
                    "date": rfc822(),
                    "link": f"http://127.0.0.2:{listener.port}/admin",
                    "description": "Summary text about Hamas and Damascus.",
                }
            ]
        )
        farm.add("/feed", feed, headers=RSS)
        config = write_config(tmp_path, [("f", farm.url("/feed"))])

        result = run_cli("once", "-c", str(config), "--json")

        assert result.exit_code == 0, result.output
        [line] = json_lines(result.stdout)
        assert line["text_source"] == "summary"  # fell back to the feed's own text
        assert line["matches"][0]["rule"] == "hamas-damascus"
        assert listener.connections == 0
    finally:
        listener.close()


def test_odd_entries_are_stored_safely(farm: Farm, tmp_path: Path) -> None:
    first = [{"title": "Baseline", "guid": "b", "link": "http://127.0.0.1:9/0", "date": rfc822()}]
    odd = [
        {"title": "No guid one", "link": "http://127.0.0.1:9/a", "date": rfc822()},
        {"title": "Same guid A", "guid": "dup", "link": "http://127.0.0.1:9/b", "date": rfc822()},
        {"title": "Same guid B", "guid": "dup", "link": "http://127.0.0.1:9/c", "date": rfc822()},
        {"title": "<script>alert(1)</script>Bad\x01 title", "guid": "s", "date": rfc822()},
        {"title": "Future", "guid": "f", "date": "Mon, 01 Jan 2120 00:00:00 GMT"},
        {"title": "Undated", "guid": "u", "date": "the day after tomorrow"},
        {"title": "", "description": "Nothing but a summary"},
    ]
    farm.add("/odd", rss(first), headers=RSS)
    config = no_fetch_config(tmp_path, [("odd", farm.url("/odd"))])
    assert len(json_lines(run_cli("once", "-c", str(config), "--json").stdout)) == 1
    farm.add("/odd", rss(odd + first), headers=RSS)

    result = run_cli("once", "-c", str(config), "--json")

    assert result.exit_code == 0, result.output
    titles = [line["title"] for line in json_lines(result.stdout)]
    assert "Same guid A" in titles
    assert "Same guid B" not in titles
    assert not any("<script" in t or "\x01" in t for t in titles)
    assert sorted(titles) == sorted(
        ["No guid one", "Same guid A", "Bad title", "Future", "Undated", "Nothing but a summary"]
    )
    again = run_cli("once", "-c", str(config), "--json")
    assert json_lines(again.stdout) == []  # 200 with identical bytes: nothing new


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_updates_the_stored_url(farm: Farm, tmp_path: Path, status: int) -> None:
    farm.add("/old", status=status, headers={"Location": farm.url("/new")})
    farm.add("/new", GOOD, headers=RSS)
    config = no_fetch_config(tmp_path, [("moved", farm.url("/old"))])
    assert run_cli("once", "-c", str(config)).exit_code == 0
    assert feeds_state(config)["moved"]["url"] == farm.url("/new")
    run_cli("once", "-c", str(config))
    assert len(farm.hits("/old")) == 1  # the second poll went straight to the new URL


def test_first_poll_records_a_baseline_and_alerts_only_on_recent_items(
    farm: Farm, tmp_path: Path
) -> None:
    from datetime import timedelta

    items = [
        {
            "title": f"Old story {i}",
            "guid": f"old-{i}",
            "link": f"http://127.0.0.1:9/{i}",
            "date": rfc822(ago=timedelta(days=3)),
        }
        for i in range(5)
    ]
    items.append(
        {"title": "Fresh story", "guid": "fresh", "link": "http://127.0.0.1:9/f", "date": rfc822()}
    )
    farm.add("/feed", rss(items), headers=RSS)
    config = write_config(
        tmp_path, [("f", farm.url("/feed"))], extra_defaults="fetch_articles: false"
    )
    text = config.read_text().replace("backfill: 3650d", "backfill: 24h")
    config.write_text(text)

    result = run_cli("once", "-c", str(config), "--json")

    assert [line["title"] for line in json_lines(result.stdout)] == ["Fresh story"]
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    try:
        [feed] = store.list_feeds()
        assert feed.entries_count == 6  # the old ones are remembered, not alerted on
    finally:
        store.close()
