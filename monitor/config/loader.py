"""Loading config.yaml: read, resolve ``${VAR}``, validate, cross-check, locate every error.

:func:`load_config` either returns a :class:`LoadedConfig` or raises one
:class:`~monitor.errors.ConfigError` listing every problem as
``config.yaml:LINE:COL: key.path: message``. Relative paths in the config (the SQLite file
of ``storage``, ``templates_dir``, a file channel's ``path``) are resolved against the
directory of the config file, so the returned :class:`Config` holds absolute paths only.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from monitor.config.checks import cross_check
from monitor.config.envvars import Resolved, resolve_env
from monitor.config.locate import Location, Problem, to_issue
from monitor.config.messages import validation_problems
from monitor.config.schema import Config, FileChannel
from monitor.config.source import read_yaml
from monitor.errors import ConfigError, ConfigIssue

_SQLITE_FILE = re.compile(r"^(sqlite(?:\+\w+)?):///(?!/)(?!:memory:)([^?]+)(\?.*)?$")
_REDACTED = "***"
_MIN_REDACTED = 6  # shorter values (a port, "true") would garble the messages


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from.

    ``path`` is the file as the user named it (used in messages), ``base_dir`` the absolute
    directory relative paths were resolved against, ``source_hash`` the SHA-256 of the file's
    bytes (to tell whether it changed since it was loaded).
    """

    config: Config
    path: Path
    base_dir: Path
    source_hash: str


def load_config(
    path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Load and check the config file at ``path``; ``env`` defaults to ``os.environ``."""
    file = os.fspath(path)
    try:
        raw = Path(file).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            [ConfigIssue(file, 1, 1, "", f"cannot read the file: {reason}")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        issue = ConfigIssue(file, line, col, "", "the file is not valid UTF-8")
        raise ConfigError([issue]) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    base_dir = Path(file).absolute().parent
    config = _load(text, file, base_dir, os.environ if env is None else env)
    return LoadedConfig(config, Path(file), base_dir, hashlib.sha256(raw).hexdigest())


def load_config_text(
    text: str,
    *,
    file: str = "config.yaml",
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Check config ``text`` as if read from ``file`` in ``base_dir`` (default: the cwd).

    ``env`` defaults to an empty mapping here, so tests never depend on the environment.
    """
    return _load(text, file, (base_dir or Path.cwd()).absolute(), env or {})


def format_issues(error: ConfigError) -> str:
    """The issues of ``error``, one per line, in file order (as ``monitor check`` prints)."""
    return "\n".join(str(issue) for issue in error.issues)


def _load(text: str, file: str, base_dir: Path, env: Mapping[str, str]) -> Config:
    tree = read_yaml(text)
    if tree.data is None:
        _fail(tree.problems, file, text, tree.locations)
    resolved = resolve_env(tree.data, env)
    data = resolved.data
    problems = tree.problems + resolved.problems
    if not isinstance(data, dict):
        problems.append(Problem((), "the top level must be a mapping of settings", mark=(1, 1)))
        _fail(problems, file, text, tree.locations, resolved)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc, data)
    # A column found in a value that ${...} changed cannot be mapped back to the file.
    problems += [
        replace(p, offset=None) if p.path in resolved.secrets else p for p in cross_check(data)
    ]
    problems += _missing_templates(data, base_dir)
    if problems or config is None:
        _fail(problems, file, text, tree.locations, resolved)
    return _absolute_paths(config, base_dir)


def _fail(
    problems: list[Problem],
    file: str,
    text: str,
    locations: dict[Any, Location],
    secrets: Resolved | None = None,
) -> NoReturn:
    issues = []
    for problem in problems:
        issue = to_issue(problem, file, text, locations)
        message = _redact(issue.message, problem, secrets) if secrets else issue.message
        issues.append(ConfigIssue(issue.file, issue.line, issue.col, issue.path, message))
    # `from None`: a chained pydantic error would print the input values, secrets included.
    raise ConfigError(issues) from None


def _redact(message: str, problem: Problem, resolved: Resolved) -> str:
    """Hide every text that came from ``${...}``: quoted in full at its own key path, and
    anywhere as a substring unless it is too short to tell from ordinary words."""
    own = resolved.secrets.get(problem.path)
    if own is not None:
        for shown in {own, own.strip()}:
            message = message.replace(repr(shown), repr(_REDACTED))
    for secret in sorted(resolved.secret_texts(), key=len, reverse=True):
        if len(secret) >= _MIN_REDACTED:
            message = message.replace(secret, _REDACTED)
    return message


def _missing_templates(data: dict[str, Any], base_dir: Path) -> list[Problem]:
    templates = data.get("templates_dir")
    if isinstance(templates, str) and templates.strip():
        folder = _resolve(templates.strip(), base_dir)
        if not folder.is_dir():
            return [Problem(("templates_dir",), f"no such directory: {folder}")]
    return []


def _absolute_paths(config: Config, base_dir: Path) -> Config:
    channels = {
        name: channel.model_copy(update={"path": _resolve_keep_slash(channel.path, base_dir)})
        if isinstance(channel, FileChannel)
        else channel
        for name, channel in config.channels.items()
    }
    templates = config.templates_dir
    return config.model_copy(
        update={
            "storage": _sqlite_absolute(config.storage, base_dir),
            "templates_dir": str(_resolve(templates, base_dir)) if templates else None,
            "channels": channels,
        }
    )


def _sqlite_absolute(url: str, base_dir: Path) -> str:
    """``sqlite:///state/monitor.db`` → ``sqlite:////abs/dir/state/monitor.db``."""
    match = _SQLITE_FILE.match(url)
    if match is None:
        return url
    scheme, path, query = match.group(1), match.group(2), match.group(3) or ""
    return f"{scheme}:///{_resolve(path, base_dir)}{query}"


def _resolve(path: str, base_dir: Path) -> Path:
    return base_dir / Path(path).expanduser()


def _resolve_keep_slash(path: str, base_dir: Path) -> str:
    resolved = str(_resolve(path, base_dir))
    return resolved + "/" if path.endswith("/") and not resolved.endswith("/") else resolved
