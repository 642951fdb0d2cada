"""An entry whose feed text already matches an immediate-alert rule has its page cleaned
first (the worker pool's order itself is tested in test_workers)."""

from __future__ import annotations

from pathlib import Path

from monitor.alerts import Matcher
from monitor.config import load_config
from monitor.config.schema import Feed
from monitor.ingest import page_priority
from monitor.model import FeedEntry
from monitor.services import PAGE_PRIORITY, URGENT_PRIORITY
from tests.pipeline_kit import RULES, write_config

AXIS = FeedEntry(
    guid="1",
    link="http://127.0.0.1:9/a",
    title="<b>Hamas</b> rejoins the &quot;axis of resistance&quot;",
    summary="<p>Officials visited Damascus.</p>",
)
PLAIN = FeedEntry(
    guid="2",
    link="http://127.0.0.1:9/b",
    title="Markets close higher",
    summary="Hamas and Damascus, but no axis.",
)


def _matcher(tmp_path: Path, rules: str = RULES) -> tuple[Matcher, Feed]:
    path = write_config(tmp_path, [("wire", "http://127.0.0.1:9/feed")], rules=rules)
    config = load_config(path).config
    return Matcher.build(config, lambda rule, actors: {}), config.feeds[0]


def test_an_entry_matching_an_immediate_rule_is_urgent(tmp_path: Path) -> None:
    matcher, feed = _matcher(tmp_path)
    assert matcher.alerts_at_once
    assert page_priority(matcher, feed, AXIS) == URGENT_PRIORITY
    # It matches the daily (not immediate) rule only: no hurry.
    assert page_priority(matcher, feed, PLAIN) == PAGE_PRIORITY


def test_without_immediate_rules_no_entry_is_urgent(tmp_path: Path) -> None:
    daily_only = RULES.replace("notify: [urgent]", "notify: [daily]")
    matcher, feed = _matcher(tmp_path, daily_only)
    assert not matcher.alerts_at_once
    assert page_priority(matcher, feed, AXIS) == PAGE_PRIORITY
