"""The shipped config.yaml loads cleanly, and every config key is documented."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from monitor.config import load_config
from monitor.config.schema import (
    Config,
    DaemonSettings,
    Defaults,
    Delivery,
    Digest,
    EmailChannel,
    Feed,
    FileChannel,
    HttpSettings,
    Novelty,
    Rule,
    SlackChannel,
    WebhookChannel,
)
from tests.conftest import ROOT

DOC = ROOT / "docs" / "configuration.md"

SECTIONS: dict[type[BaseModel], str] = {
    Config: "## Top level",
    HttpSettings: "## `http`",
    Defaults: "## `defaults`",
    Feed: "## `feeds`",
    Rule: "## `rules`",
    Novelty: "### `rules[].novelty`",
    Digest: "## `digests`",
    FileChannel: "### `type: file`",
    EmailChannel: "### `type: email`",
    SlackChannel: "### `type: slack`",
    WebhookChannel: "### `type: webhook`",
    Delivery: "## `delivery`",
    DaemonSettings: "## `daemon`",
}


def test_shipped_config_loads_without_issues() -> None:
    loaded = load_config(ROOT / "config.yaml", env={})
    config = loaded.config
    assert loaded.base_dir == ROOT
    assert config.storage == f"sqlite:///{ROOT}/state/monitor.db"
    assert {f.name for f in config.feeds} >= {"aljazeera", "bbc-middle-east"}
    assert "حزب الله" in config.entities["hezbollah"]
    axis = next(r for r in config.rules if r.name == "axis-new-alignments")
    assert axis.query == '"axis of resistance"'
    assert axis.notify == ("urgent",)
    assert axis.novelty is not None
    assert axis.novelty.track == (
        "hamas", "hezbollah", "houthis", "iraqi-militias", "syria", "qatar", "turkey",
    )  # fmt: skip
    assert (axis.novelty.within, axis.novelty.unseen_for) == (30, timedelta(days=90))
    assert [(d.name, d.schedule, d.immediate) for d in config.digests] == [
        ("daily", "0 7 * * *", False),
        ("urgent", None, True),
    ]


def _models(kind: Any) -> set[type[BaseModel]]:
    """Every model reachable from ``kind`` through field annotations."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        found = {kind}
        for field in kind.model_fields.values():
            found |= _models(field.annotation)
        return found
    if get_origin(kind) is not None:
        return set().union(*(_models(arg) for arg in get_args(kind)))
    return set()


def test_every_model_has_a_section() -> None:
    assert _models(Config) == set(SECTIONS)


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = re.compile(r"\n#+ ").search(text, start + len(heading) + 2)
    return text[start : end.start() if end else len(text)]


@pytest.mark.parametrize("model", list(SECTIONS), ids=lambda m: m.__name__)
def test_settings_are_documented(model: type[BaseModel]) -> None:
    section = _section(DOC.read_text(encoding="utf-8"), SECTIONS[model])
    rows = re.findall(r"^\| `([^`]+)` \|", section, re.MULTILINE)
    keys = [field.alias or name for name, field in model.model_fields.items()]
    assert sorted(rows) == sorted(keys)
    for row in section.splitlines():
        if row.startswith("| `"):
            assert row.count(" | ") == 4, f"type, default, meaning, example: {row}"
