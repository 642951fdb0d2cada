"""The daemon does not sit on work: an immediate alert leaves as soon as its article is
stored, and a backlog of due feeds is worked through without waiting for the next tick."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from monitor.config import load_config
from monitor.daemon import Daemon
from monitor.services import services
from tests.farm import Farm, Reply
from tests.pipeline_kit import rfc822, rss, write_config

RULES = """
rules:
  - {name: flash, query: "title:flash", notify: [urgent]}
digests:
  - {name: urgent, immediate: true, channels: [files]}
channels:
  files: {type: file, path: out/}
"""

PAGE = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    + "<p>{title}: officials met in the capital on Monday and spoke to reporters afterwards "
    "about the talks, the ceasefire and what comes next for the region and its people.</p>"
    * 3
    + "</article></body></html>"
)


def test_an_alert_goes_out_while_a_slow_page_of_the_same_feed_is_still_loading(
    farm: Farm, tmp_path: Path
) -> None:
    items = [
        {"title": "Flash: talks in Damascus", "link": farm.url("/fast"), "guid": "a"},
        {"title": "Weather in Beirut", "link": farm.url("/slow"), "guid": "b"},
    ]
    for item in items:
        item["date"] = rfc822()
    farm.add("/feed", rss(items), headers={"Content-Type": "application/rss+xml"})
    farm.add("/fast", PAGE.format(title=items[0]["title"]).encode())
    slow = PAGE.format(title=items[1]["title"]).encode()
    farm.add_handler("/slow", lambda req: Reply(200, {}, slow, drip=0.02))  # over 10 s
    path = write_config(tmp_path, [("Feed", farm.url("/feed"))], rules=RULES, timeout="30s")
    loaded = load_config(path)
    out = tmp_path / "out"

    async def scenario() -> float:
        async with services(loaded) as svc:
            daemon = Daemon(path, loaded)
            daemon.attach(svc)
            svc.store.sync_feeds(loaded.config.feeds, svc.clock())
            start = time.monotonic()
            await daemon.poll_tick()
            while not (out.exists() and any(out.glob("digest-urgent*"))):
                assert time.monotonic() - start < 8, "no alert while the slow page loads"
                await asyncio.sleep(0.05)
            took = time.monotonic() - start
            assert daemon.polls, "the feed's poll should still be busy with the slow page"
            for task in list(daemon.polls):
                task.cancel()
            await asyncio.gather(*daemon.polls, return_exceptions=True)
            return took

    took = asyncio.run(scenario())
    [alert] = out.glob("digest-urgent*.json")
    assert "Flash: talks in Damascus" in alert.read_text(encoding="utf-8")
    assert took < 8


def test_a_backlog_of_due_feeds_is_worked_through_without_waiting_for_ticks(
    farm: Farm, tmp_path: Path
) -> None:
    # concurrency 1 gives 4 polling slots; 20 feeds are due at once. One tick must be enough:
    # polls that finish claim the next feeds instead of leaving them to the next tick.
    feeds = [(f"Feed {n}", farm.url(f"/feed/{n}")) for n in range(20)]
    for n in range(20):
        farm.add(f"/feed/{n}", rss([{"title": "Old story", "guid": "x"}]),
                 headers={"Content-Type": "application/rss+xml"})  # fmt: skip
    path = write_config(tmp_path, feeds, rules=RULES, http="concurrency: 1")
    loaded = load_config(path)

    async def scenario() -> int:
        async with services(loaded) as svc:
            daemon = Daemon(path, loaded)
            daemon.attach(svc)
            svc.store.sync_feeds(loaded.config.feeds, svc.clock())
            await daemon.poll_tick()  # the only tick
            start = time.monotonic()
            while time.monotonic() - start < 10 and (
                daemon.polls or (daemon.top_up is not None and not daemon.top_up.done())
            ):
                await asyncio.sleep(0.05)
            return len({r.path for r in farm.requests})

    assert asyncio.run(scenario()) == 20
