"""Schema errors in the user's words: pydantic errors → located :class:`Problem` values.

The messages are written here from the error type and its context, never from the input,
so that no value (and so no secret) is echoed. Union branch names and the channel ``type``
tag that pydantic puts into error locations are dropped from the key path.
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from monitor.config.locate import KeyPath, Problem
from monitor.config.schema import Config

_FIXED = {
    "missing": "required key is missing",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "string_too_short": "must not be empty",
    "ip_v4_network": "expected an IP network such as 10.0.0.0/8 or fd00::/8 (no host bits set)",
    "ip_v6_network": "expected an IP network such as 10.0.0.0/8 or fd00::/8 (no host bits set)",
}

_BOUNDS = {
    "greater_than_equal": "at least",
    "greater_than": "more than",
    "less_than_equal": "at most",
    "less_than": "less than",
}


def validation_problems(exc: ValidationError, data: Any) -> list[Problem]:
    """One problem per distinct (path, message) of ``exc``, which validated ``data``."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False, include_input=False):
        problem = _problem(error, data)
        if problem not in problems:
            problems.append(problem)
    return problems


def _problem(error: ErrorDetails, data: Any) -> Problem:
    kind, loc, ctx = error["type"], error["loc"], error.get("ctx") or {}
    if kind in ("missing", "extra_forbidden"):
        path, _, _ = _walk(data, loc[:-1])
        key = loc[-1]
        if kind == "missing":
            return Problem((*path, key), _FIXED["missing"], at="mapping")
        return Problem((*path, key), _unknown_key(str(key), loc[:-1]), at="key")
    path, value, at_key = _walk(data, loc)
    if at_key:
        return Problem(path, f"invalid key: {_message(error, ctx)}", at="key")
    if kind == "union_tag_invalid":
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        return Problem((*path, "type"), f"unknown channel type; expected one of {expected}")
    if kind == "union_tag_not_found":
        message = "required key is missing (file, email, slack or webhook)"
        return Problem((*path, "type"), message, at="mapping")
    message = _message(error, ctx)
    if kind == "bool_type" and isinstance(value, str):
        message += " (YAML 1.2 reads yes, no, on and off as strings)"
    return Problem(path, message)


def _message(error: ErrorDetails, ctx: dict[str, Any]) -> str:
    kind = error["type"]
    if kind in _FIXED:
        return _FIXED[kind]
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the listed values')}"
    if kind in _BOUNDS:
        return f"must be {_BOUNDS[kind]} {next(iter(ctx.values()), '?')}"
    if kind in ("too_short", "tuple_too_short"):
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must list at least {least} items"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    text = error["msg"].replace("Input should be", "expected")
    return text[:1].lower() + text[1:]


def _walk(data: Any, loc: tuple[int | str, ...]) -> tuple[KeyPath, Any, bool]:
    """Follow ``loc`` through ``data``: (key path, value there, whether it ends at a key)."""
    node, path = data, list[str | int]()
    tag_skipped = False
    for part in loc:
        if part == "[key]":
            return tuple(path), node, True
        if isinstance(node, dict) and not tag_skipped and node.get("type") == part:
            tag_skipped = True  # the discriminator tag of a channel
        elif _has(node, part):
            node, tag_skipped = node[part], False
            path.append(part)
        # anything else names a union branch: not part of the user's key path
    return tuple(path), node, False


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _unknown_key(key: str, loc: tuple[int | str, ...]) -> str:
    allowed = _allowed_keys(loc)
    close = difflib.get_close_matches(key, allowed, n=1)
    return f"unknown key; did you mean '{close[0]}'?" if close else "unknown key"


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts (by YAML spelling), or [] if not a model."""
    kind: Any = Config
    for part in loc:
        kind = _strip(kind)
        if get_origin(kind) in (Union, types.UnionType):
            tagged = [m for m in get_args(kind) if _type_tag(m) == part]
            if not tagged:
                return []
            kind = tagged[0]
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            field = next((f for n, f in kind.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return []
            kind = field.annotation
        elif get_origin(kind) in (tuple, list) and isinstance(part, int):
            kind = get_args(kind)[0]
        elif get_origin(kind) is dict:
            kind = get_args(kind)[1]
        else:
            return []
    kind = _strip(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return [f.alias or n for n, f in kind.model_fields.items()]
    return []


def _strip(kind: Any) -> Any:
    """Remove Annotated wrappers and ``| None``."""
    while True:
        if get_origin(kind) is Annotated:
            kind = get_args(kind)[0]
        elif get_origin(kind) in (Union, types.UnionType) and type(None) in get_args(kind):
            members = [m for m in get_args(kind) if m is not type(None)]
            kind = members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007
        else:
            return kind


def _type_tag(kind: Any) -> object:
    if isinstance(kind, type) and issubclass(kind, BaseModel) and "type" in kind.model_fields:
        args = get_args(kind.model_fields["type"].annotation)
        return args[0] if args else None
    return None
