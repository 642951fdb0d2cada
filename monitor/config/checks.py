"""Cross-checks between sections of config.yaml (pure).

They run on the plain data (after ``${VAR}`` resolution) rather than on the validated models,
so that they are reported together with the schema errors: a value of the wrong type is left
to the schema and skipped here. Each check returns :class:`~monitor.config.locate.Problem`
values located by key path.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config.cron import crontab_trigger
from monitor.config.locate import KeyPath, Problem

_STORAGE = re.compile(r"^(sqlite|postgresql)(\+\w+)?://")
# The file position replaces the query column that QueryError messages mention.
_COLUMN_NOTE = re.compile(r"\s*(?:\(column \d+\)|at column \d+)")


def cross_check(data: Mapping[str, Any]) -> list[Problem]:
    """Every cross-section problem of the config ``data``."""
    feeds = _items(data, "feeds")
    rules = _items(data, "rules")
    digests = _items(data, "digests")
    channels = data.get("channels")
    channel_names = [str(name) for name in channels] if isinstance(channels, dict) else []
    entities = _entities(data.get("entities"))
    problems: list[Problem] = []
    for kind, items in (("feed", feeds), ("rule", rules), ("digest", digests)):
        problems += _duplicates(kind, items, "name")
    problems += _duplicates("feed", feeds, "url", what="url")
    problems += [p for path, item in feeds for p in _feed(path, item)]
    sources = {_text(item.get("name")) for _, item in feeds} | {
        tag for _, item in feeds for _, tag in _strings(item.get("tags"), ())
    }
    digest_names = [_text(item.get("name")) for _, item in digests]
    for path, rule in rules:
        problems += _rule(path, rule, entities, digest_names, sources)
    for path, digest in digests:
        problems += _digest(path, digest, channel_names)
    storage = data.get("storage")
    if isinstance(storage, str) and not _STORAGE.match(storage.strip()):
        message = "expected sqlite:///path/to/file.db or postgresql://user@host/dbname"
        problems.append(Problem(("storage",), message))
    return problems


def query_issues(query: str, entities: Mapping[str, Sequence[str]]) -> list[tuple[int, str]]:
    """Problems of one rule query as (1-based column, message) pairs.

    Uses ``monitor.matching.query.parse_query``; while that module does not exist yet, a
    minimal check of quotes, parentheses and ``@entity`` names stands in.
    """
    try:
        from monitor.matching.query import (  # type: ignore[import-not-found,unused-ignore]
            QueryError,
            parse_query,
        )
    except ImportError:
        return _fallback_query_issues(query, entities)
    try:
        parse_query(query, entities)
    except QueryError as exc:
        message = str(getattr(exc, "message", None) or exc)
        return [(int(getattr(exc, "column", 1)), _COLUMN_NOTE.sub("", message))]
    return []


def _fallback_query_issues(
    query: str, entities: Mapping[str, Sequence[str]]
) -> list[tuple[int, str]]:
    if not query.strip():
        return [(1, "the query is empty")]
    opened: list[int] = []
    quote: int | None = None
    for column, ch in enumerate(query, start=1):
        if ch == '"':
            quote = None if quote is not None else column
        elif quote is None and ch == "(":
            opened.append(column)
        elif quote is None and ch == ")":
            if not opened:
                return [(column, "unbalanced parenthesis")]
            opened.pop()
    if quote is not None:
        return [(quote, "unclosed quote")]
    if opened:
        return [(opened[-1], "unbalanced parenthesis")]
    for match in re.finditer(r"@([\w-]+)", query):
        if match.group(1) not in entities:
            return [(match.start() + 1, f"unknown entity {match.group(0)}")]
    return []


def _feed(path: KeyPath, feed: Mapping[str, Any]) -> Iterator[Problem]:
    url = feed.get("url")
    if isinstance(url, str) and url.strip():
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            yield Problem((*path, "url"), "expected an http:// or https:// URL")


def _rule(
    path: KeyPath,
    rule: Mapping[str, Any],
    entities: dict[str, list[str]],
    digests: list[str],
    sources: set[str],
) -> Iterator[Problem]:
    query = rule.get("query")
    if isinstance(query, str):
        for column, message in query_issues(query, entities):
            yield Problem((*path, "query"), message, offset=max(column - 1, 0))
    for where, name in _strings(rule.get("notify"), (*path, "notify")):
        if name not in digests:
            yield Problem(where, _unknown("digest", name, digests))
    for where, name in _strings(rule.get("sources"), (*path, "sources")):
        if name not in sources:
            yield Problem(where, _unknown("feed name or tag", name, sorted(sources)))
    novelty = rule.get("novelty")
    if isinstance(novelty, dict):
        for where, name in _strings(novelty.get("track"), (*path, "novelty", "track")):
            if name not in entities:
                yield Problem(where, _unknown("entity", name, list(entities)))


def _digest(path: KeyPath, digest: Mapping[str, Any], channels: list[str]) -> Iterator[Problem]:
    for where, name in _strings(digest.get("channels"), (*path, "channels")):
        if name not in channels:
            yield Problem(where, _unknown("channel", name, channels))
    schedule, immediate = digest.get("schedule"), digest.get("immediate")
    if schedule is not None and immediate is True:
        yield Problem((*path, "immediate"), "a digest has a schedule or is immediate, not both")
    elif schedule is None and immediate in (None, False):
        message = "a digest needs a schedule (cron) or immediate: true"
        yield Problem((*path, "schedule"), message, at="mapping")
    zone = ZoneInfo("UTC")
    timezone = digest.get("timezone")
    if isinstance(timezone, str):
        try:
            zone = ZoneInfo(timezone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            message = "unknown time zone: use an IANA name such as Europe/London or UTC"
            yield Problem((*path, "timezone"), message)
    if isinstance(schedule, str):
        try:
            crontab_trigger(schedule, zone)
        except ValueError as exc:
            yield Problem((*path, "schedule"), str(exc))


def _duplicates(
    kind: str, items: list[tuple[KeyPath, dict[str, Any]]], key: str, what: str = "name"
) -> Iterator[Problem]:
    first: dict[str, KeyPath] = {}
    for path, item in items:
        value = _text(item.get(key))
        if not value:
            continue
        if value in first:
            shown = f" '{value}'" if what == "name" else ""
            yield Problem((*path, key), f"duplicate {kind} {what}{shown}", see=(*first[value], key))
        else:
            first[value] = path


def _unknown(kind: str, name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        hint = f"; did you mean '{close[0]}'?"
    elif not known:
        hint = " (none are defined)"
    else:
        listed = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        hint = f" (known: {listed})"
    return f"unknown {kind} '{name}'{hint}"


def _items(data: Mapping[str, Any], key: str) -> list[tuple[KeyPath, dict[str, Any]]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [((key, i), item) for i, item in enumerate(value) if isinstance(item, dict)]


def _strings(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                yield (*path, i), item.strip()


def _entities(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        return {}
    return {
        str(name).strip(): [a for a in aliases if isinstance(a, str)]
        if isinstance(aliases, list)
        else []
        for name, aliases in value.items()
    }


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
