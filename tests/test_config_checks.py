"""Cross-checks between config sections, cron schedules, and positions inside strings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from ruamel.yaml.nodes import ScalarNode

from monitor.config.checks import _fallback_query_issues, cross_check
from monitor.config.cron import crontab_trigger
from monitor.config.locate import format_path, scalar_char_index
from monitor.config.source import read_yaml

FEED = {"name": "bbc", "url": "https://feeds.bbci.co.uk/news/rss.xml", "tags": ["uk"]}
DIGEST = {"name": "daily", "schedule": "0 7 * * *", "channels": ["files"]}


def config(**sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "feeds": [FEED],
        "entities": {"hamas": ["Hamas"], "hezbollah": ["Hezbollah"]},
        "rules": [],
        "digests": [DIGEST],
        "channels": {"files": {"type": "file"}},
    }
    data.update(sections)
    return data


CASES = [
    pytest.param(config(), [], id="valid"),
    pytest.param(
        config(feeds=[FEED, {**FEED, "name": "bbc-2"}]),
        [("feeds[1].url", "duplicate feed url")],
        id="duplicate feed url",
    ),
    pytest.param(
        config(digests=[DIGEST, {**DIGEST, "schedule": None, "immediate": True}]),
        [("digests[1].name", "duplicate digest name 'daily'")],
        id="duplicate digest name",
    ),
    pytest.param(
        config(digests=[{"name": "d", "channels": ["files"]}]),
        [("digests[0].schedule", "a digest needs a schedule (cron) or immediate: true")],
        id="neither schedule nor immediate",
    ),
    pytest.param(
        config(digests=[{**DIGEST, "immediate": True}]),
        [("digests[0].immediate", "a digest has a schedule or is immediate, not both")],
        id="both schedule and immediate",
    ),
    pytest.param(
        config(rules=[{"name": "r", "query": "x", "notify": ["weekly"], "sources": ["bbc", "uk",
                                                                                    "us"]}],
               digests=[]),
        [("rules[0].notify[0]", "unknown digest 'weekly' (none are defined)"),
         ("rules[0].sources[2]", "unknown feed name or tag 'us' (known: bbc, uk)")],
        id="unknown digest and source",
    ),
    pytest.param(
        config(rules=[{"name": "r", "query": "x", "novelty": {"track": ["hezbolah", "hamas"]}}]),
        [("rules[0].novelty.track[0]", "unknown entity 'hezbolah'; did you mean 'hezbollah'?")],
        id="novelty tracks an unknown entity",
    ),
    pytest.param(
        config(digests=[{**DIGEST, "schedule": "0 7 * * 8", "timezone": "Mars/Olympus"}]),
        [("digests[0].timezone",
          "unknown time zone: use an IANA name such as Europe/London or UTC"),
         ("digests[0].schedule", "invalid weekday '8': use 0-7 (0 and 7 are Sunday) or sun-sat")],
        id="bad weekday and time zone",
    ),
    pytest.param(
        config(storage="mysql://db/monitor", feeds=[{**FEED, "url": "file:///etc/passwd"}]),
        [("feeds[0].url", "expected an http:// or https:// URL"),
         ("storage", "expected sqlite:///path/to/file.db or postgresql://user@host/dbname")],
        id="bad storage and feed scheme",
    ),
    pytest.param(
        config(feeds="not a list", rules=[{"name": 3, "query": ["x"], "notify": "daily"}]),
        [],
        id="wrong types are left to the schema",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_cross_checks(data: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    found = [(format_path(p.path), p.message) for p in cross_check(data)]
    assert found == expected


QUERIES = [
    ("hamas AND (damascus", [(11, "unbalanced parenthesis")]),
    ("hamas) OR x", [(6, "unbalanced parenthesis")]),
    ('"axis of (resistance', [(1, "unclosed quote")]),
    ("@hamas AND @sirya", [(12, "unknown entity @sirya")]),
    ("  ", [(1, "the query is empty")]),
    ('(hamas NEAR/30 damascus) OR ("a (b" AND @hamas)', []),
]


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_fallback_query_check(query: str, expected: list[tuple[int, str]]) -> None:
    assert _fallback_query_issues(query, {"hamas": ["Hamas"]}) == expected


@pytest.mark.parametrize(
    ("expr", "start", "fires"),
    [
        ("0 7 * * 1-5", "2024-06-01", ["03 Mon", "04 Tue", "05 Wed", "06 Thu", "07 Fri", "10 Mon"]),
        ("0 7 * * 0", "2024-06-01", ["02 Sun", "09 Sun"]),
        ("0 7 * * 7", "2024-06-01", ["02 Sun", "09 Sun"]),
        ("0 7 * * */3", "2024-06-01", ["01 Sat", "02 Sun", "05 Wed", "08 Sat"]),
        ("0 7 * * sat,sun", "2024-06-03", ["08 Sat", "09 Sun", "15 Sat"]),
    ],
)
def test_cron_weekdays_count_from_sunday(expr: str, start: str, fires: list[str]) -> None:
    london = ZoneInfo("Europe/London")
    trigger = crontab_trigger(expr, london)
    now: datetime | None = datetime.fromisoformat(start).replace(tzinfo=london)
    seen = []
    for _ in fires:
        now = trigger.get_next_fire_time(None, now)
        assert now is not None
        assert (now.hour, now.minute, now.utcoffset()) == (7, 0, timedelta(hours=1))
        seen.append(now.strftime("%d %a"))
        now += timedelta(minutes=1)
    assert seen == fires


SCALARS = [
    pytest.param("q: hamas AND (x\n", id="plain"),
    pytest.param("q: 'it''s a (x'\n", id="single quoted"),
    pytest.param('q: "caf\\u00e9 \\"b\\" (x"\n', id="double quoted escapes"),
    pytest.param('q: "ab\\\n  cd (x"\n', id="double quoted escaped line break"),
    pytest.param("q: alpha\n  beta (x\n", id="folded plain"),
    pytest.param("q: |\n  one\n  two (x\n", id="literal block"),
    pytest.param("q: >\n  one\n  two (x\n", id="folded block"),
]


@pytest.mark.parametrize("text", SCALARS)
def test_scalar_char_index_finds_the_character(text: str) -> None:
    tree = read_yaml(text)
    node = tree.locations[("q",)].node
    assert isinstance(node, ScalarNode)
    value: str = tree.data["q"]
    assert scalar_char_index(node, text, value.index("(")) == text.index("(")
    assert text[scalar_char_index(node, text, value.index("x"))] == "x"


def test_duplicate_keys_are_all_reported() -> None:
    tree = read_yaml("a: 1\nb: 2\na: 3\nc: {d: 1, d: 2}\n")
    assert tree.data == {"a": 1, "b": 2, "c": {"d": 1}}
    assert [(p.mark, format_path(p.path), p.message) for p in tree.problems] == [
        ((3, 1), "a", "duplicate key 'a' (first at line 1)"),
        ((4, 11), "c.d", "duplicate key 'd' (first at line 4)"),
    ]


def test_anchors_and_merge_keys() -> None:
    text = "base: &b {interval: 10m, tags: [x]}\nfeed:\n  <<: *b\n  tags: [y]\n"
    tree = read_yaml(text)
    assert tree.data["feed"] == {"tags": ["y"], "interval": "10m"}
    assert tree.problems == []


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    tree = read_yaml("\n".join(lines) + "\n")
    assert any("cannot expand the file" in p.message for p in tree.problems)
