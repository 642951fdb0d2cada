"""Where a problem sits in config.yaml: key paths, problems, and file positions.

Every stage of loading (YAML reading, ``${VAR}`` resolution, schema validation, cross-checks)
reports a :class:`Problem` about a key path such as ``("feeds", 2, "url")``; :func:`to_issue`
turns it into a :class:`~monitor.errors.ConfigIssue` with a 1-based ``line:col``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ruamel.yaml.nodes import Node, ScalarNode

from monitor.errors import ConfigIssue

KeyPath = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"^[\w-]+$")


@dataclass(frozen=True)
class Problem:
    """One problem, located by key path.

    ``at`` says what to point at: the ``value`` (default), the ``key`` (unknown or duplicate
    keys) or the enclosing ``mapping`` (a missing key; ``path`` ends with the missing key).
    ``offset`` is a character index inside a string value (a query column, a ``${`` reference);
    ``mark`` overrides everything with an explicit 1-based (line, col); ``see`` names another
    path whose line is quoted ("first at line N").
    """

    path: KeyPath
    message: str
    at: Literal["value", "key", "mapping"] = "value"
    offset: int | None = None
    mark: tuple[int, int] | None = None
    see: KeyPath | None = None


@dataclass(frozen=True)
class Location:
    """Where one value sits: its node (start of the value) and, in a mapping, its key's mark."""

    node: Node
    key: tuple[int, int] | None = None  # 1-based (line, col) of the key


def format_path(path: KeyPath) -> str:
    """``("feeds", 2, "url")`` → ``feeds[2].url``; odd keys are quoted: ``channels."a b"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if _PLAIN_KEY.match(part) else '"' + part.replace('"', '\\"') + '"'
            out += f".{text}" if out else text
    return out


def to_issue(
    problem: Problem, file: str, text: str, locations: dict[KeyPath, Location]
) -> ConfigIssue:
    """Locate ``problem`` in the file (falling back to the nearest located ancestor)."""
    line, col = _position(problem, text, locations)
    message = problem.message
    if problem.see is not None and problem.see in locations:
        message += f" (first at line {_node_mark(locations[problem.see].node)[0]})"
    return ConfigIssue(file, line, col, format_path(problem.path), message)


def _position(problem: Problem, text: str, locations: dict[KeyPath, Location]) -> tuple[int, int]:
    if problem.mark is not None:
        return problem.mark
    path = problem.path[:-1] if problem.at == "mapping" else problem.path
    while path not in locations and path:
        path = path[:-1]
    where = locations.get(path)
    if where is None:
        return 1, 1
    if problem.at == "key" and where.key is not None and path == problem.path:
        return where.key
    node = where.node
    if problem.offset is not None and isinstance(node, ScalarNode) and path == problem.path:
        index = scalar_char_index(node, text, problem.offset)
        line = text.count("\n", 0, index) + 1
        return line, index - (text.rfind("\n", 0, index) + 1) + 1
    return _node_mark(node)


def _node_mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


_ESCAPE_LENGTH = {"x": 4, "u": 6, "U": 10}
_SPACE = " \t\r\n"


def scalar_char_index(node: ScalarNode, text: str, offset: int) -> int:
    """The index in ``text`` of character ``offset`` of a string scalar's value.

    Walks the source and the value side by side: plain, single-quoted (``''``), double-quoted
    (``\\"``, ``\\xNN``, ``\\uNNNN``, escaped line breaks) and block scalars (indentation and
    folding). Where the two cannot be aligned (a tag or an odd construct) it returns the nearest
    position reached, at worst the start of the value.
    """
    start: int = node.start_mark.index
    end: int = node.end_mark.index
    style = node.style
    i = start
    if style in ("'", '"'):
        i += 1
    elif style in ("|", ">"):
        newline = text.find("\n", start, end)
        i = newline + 1 if newline != -1 else start
    value: str = node.value
    for k, ch in enumerate(value[: offset + 1]):
        found = _find_source_char(text, i, end, ch, style)
        if found is None:
            return min(i, max(end - 1, start))
        here, i = found
        if k == offset:
            return here
    return min(i, max(end - 1, start))


def _find_source_char(
    text: str, i: int, end: int, ch: str, style: str | None
) -> tuple[int, int] | None:
    """Where ``ch`` is written at or after ``i``: (its index, the index after it)."""
    while i < end:
        s = text[i]
        if style == '"' and s == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in ("\n", "\r"):
                i += 2
                continue
            return i, i + _ESCAPE_LENGTH.get(nxt, 2)
        if style == "'" and s == "'" and text[i + 1 : i + 2] == "'":
            return i, i + 2
        if s == ch or (ch in " \n" and s in _SPACE):
            return i, i + 1
        if s not in _SPACE:
            return None
        i += 1
    return None
