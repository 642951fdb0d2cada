"""``${VAR}`` and ``${VAR:-default}`` references in config string values.

This is the one place where secrets enter monitor: the environment mapping is passed in
explicitly, and every value that came from a reference is reported back as a secret so that
no error message or log line ever shows it. ``$${`` writes a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.config.locate import KeyPath, Problem

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_BODY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)


@dataclass
class Resolved:
    """The data with references replaced, the secrets that entered it, and the problems."""

    data: Any
    secrets: dict[KeyPath, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    inserted: set[str] = field(default_factory=set)

    def secret_texts(self) -> set[str]:
        """Every resolved value that held a reference, and every text a reference inserted."""
        return set(self.secrets.values()) | self.inserted


def resolve_env(data: Any, env: Mapping[str, str]) -> Resolved:
    """Replace references in every string value (not in keys) of ``data``."""
    result = Resolved(None)
    result.data = _walk(data, (), env, result)
    return result


def _walk(value: Any, path: KeyPath, env: Mapping[str, str], out: Resolved) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, (*path, k), env, out) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, i), env, out) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        return _substitute(value, path, env, out)
    return value


def _substitute(text: str, path: KeyPath, env: Mapping[str, str], out: Resolved) -> str:
    pieces: list[str] = []
    pos = 0
    used_reference = False
    for match in _REFERENCE.finditer(text):
        pieces.append(text[pos : match.start()])
        pos = match.end()
        if match.group(0) == "$${":
            pieces.append("${")
            continue
        body = match.group(1)
        parsed = _BODY.match(body) if body is not None else None
        if parsed is None:
            shown = match.group(0) if body is not None else "${"
            message = f"invalid reference {shown}: write ${{NAME}} or ${{NAME:-default}}"
            if body is None:
                message = "unclosed ${: write ${NAME} or ${NAME:-default} (or $${ for a literal)"
            out.problems.append(Problem(path, message, offset=match.start()))
            continue
        used_reference = True
        name, default = parsed.group(1), parsed.group(2)
        if name in env and (default is None or env[name] != ""):
            pieces.append(env[name])
            out.inserted.add(env[name])
        elif default is not None:
            pieces.append(default)
        else:
            message = f"environment variable {name} is not set"
            out.problems.append(Problem(path, message, offset=match.start()))
    pieces.append(text[pos:])
    resolved = "".join(pieces)
    if used_reference:
        out.secrets[path] = resolved
    return resolved
