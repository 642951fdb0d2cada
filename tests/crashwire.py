"""Live feeds for the crash tests: items that keep appearing while the daemon is killed.

``Newswire`` serves feeds on a ``tests.farm.Farm``; each GET shows the items published so
far, one more every ``period`` seconds from the first GET. Two of every three stories say
Hamas in the title: ``expected`` is the set the rule must alert on; the others must not
arrive. Story texts are random picks of words, so no two stories look alike to the digest
(which would merge near-duplicates or drop a title it sent before).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from tests.farm import Farm, Reply
from tests.pipeline_kit import rfc822, rss

RSS = {"Content-Type": "application/rss+xml"}

# Words for story texts: random picks keep every story apart from the others, so the digest
# never merges two of them as near-duplicates or drops one as a repeat of a sent title.
_VOCABULARY = """harbour ministry council grain convoy border ceasefire envoy summit pipeline
drought tariff election protest refinery airport bridge hospital school reservoir senate
coalition militia brigade patrol corridor checkpoint embassy treaty budget subsidy currency
inflation port railway highway factory workers union strike harvest flood earthquake
volunteers refugees shelter vaccine clinic court verdict appeal minister cabinet parliament
opposition mayor province district village market exports imports wheat fuel electricity
water sanitation satellite frigate drone radar missile negotiators mediators observers
journalists archive museum festival stadium airline cargo shipment customs smugglers
tunnel fence outpost garrison barracks tribunal inquiry report ledger auditors bankers
lenders creditors bondholders auction tender contract consortium engineers surveyors"""
WORDS = _VOCABULARY.split()


@dataclass(frozen=True)
class Story:
    feed: str
    n: int
    title: str
    text: str
    alert: bool

    @property
    def slug(self) -> str:
        return f"{self.feed}-{self.n}"


def make_stories(feed: str, count: int, seed: int) -> list[Story]:
    """``count`` distinct stories; two of every three mention Hamas in the title."""
    rng = random.Random(f"{feed}/{seed}")
    stories = []
    for n in range(count):
        words = rng.sample(WORDS, 30)
        alert = n % 3 != 2
        title = " ".join(["Hamas" if alert else "Regional", *words[:6]]).capitalize()
        stories.append(Story(feed, n, title, " ".join(words[6:]) + ".", alert))
    return stories


class Newswire:
    """Feeds on the farm whose items appear one every ``period`` seconds from the first GET."""

    def __init__(self, farm: Farm, period: float) -> None:
        self.farm = farm
        self.period = period
        self.feeds: dict[str, list[Story]] = {}
        self._t0: float | None = None
        self._lock = threading.Lock()

    def add_feed(self, name: str, count: int, seed: int = 0) -> str:
        """Serve feed ``name`` with ``count`` stories; returns its URL."""
        self.feeds[name] = make_stories(name, count, seed)
        self.farm.add_handler(f"/feeds/{name}", lambda _req: self._reply(name))
        return self.farm.url(f"/feeds/{name}")

    def shown(self) -> int:
        """How many items of each feed are published now."""
        with self._lock:
            if self._t0 is None:
                return 0
            return 1 + int((time.monotonic() - self._t0) / self.period)

    def _reply(self, name: str) -> Reply:
        with self._lock:
            if self._t0 is None:
                self._t0 = time.monotonic()
        stories = self.feeds[name][: self.shown()]
        items = [
            {
                "title": s.title,
                "guid": s.slug,
                "link": self.farm.url(f"/story/{s.slug}"),
                "description": s.text,
                "date": rfc822(),
            }
            for s in reversed(stories)
        ]
        return Reply(200, dict(RSS), rss(items, title=name))

    def all_published(self) -> bool:
        return all(self.shown() >= len(stories) for stories in self.feeds.values())

    def expected(self, feeds: Iterable[str] | None = None) -> set[str]:
        """Slugs of the stories the rule alerts on (of ``feeds``, default all)."""
        names = self.feeds if feeds is None else feeds
        return {s.slug for name in names for s in self.feeds[name] if s.alert}
