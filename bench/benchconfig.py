"""Configs for the end-to-end benchmarks: generated rules and a config.yaml over a news farm.

Rules come from ``bench.matching_rules`` ("specific" mix: terms drawn from records of the
whole corpus, so few rules match any one article, as in a real monitoring service). The
config is written with every string JSON-quoted (valid YAML 1.2), so generated queries need
no YAML escaping, and it is loaded by ``monitor.config.load_config`` like any user's file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.matching_rules import MIXES, Vocabulary, generate_rules
from bench.newsfarm import FarmSpec
from monitor.config.schema import Rule

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "corpus"


def corpus_rules(count: int, seed: int = 7) -> list[Rule]:
    """``count`` generated rules of the "specific" mix (a few seconds for the vocabulary)."""
    from bench.matching import _every_record

    low, high, _ = MIXES["specific"]
    return generate_rules(Vocabulary.of(_every_record(CORPUS), low, high), count, seed=seed)


def _yaml(value: Any, indent: str = "") -> list[str]:
    """``value`` as block YAML with JSON scalars (enough for config files)."""
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping | list) and item:
                lines.append(f"{indent}{key}:")
                lines.extend(_yaml(item, indent + "  "))
            else:
                lines.append(f"{indent}{key}: {json.dumps(item)}")
    else:
        for item in value:
            if isinstance(item, Mapping):
                first, *rest = _yaml(item, indent + "  ")
                lines.append(f"{indent}- {first.lstrip()}")
                lines.extend(rest)
            else:
                lines.append(f"{indent}- {json.dumps(item)}")
    return lines


def feed_urls(spec: FarmSpec, ports: Mapping[str, int]) -> list[str]:
    return [
        f"http://{spec.host_ip(n)}:{ports[spec.host_ip(n)]}/feed/{n}" for n in range(spec.feeds)
    ]


def write_config(
    path: Path,
    *,
    urls: Sequence[str],
    rules: Sequence[Rule],
    notify: str = "daily",
    extra_rules: Sequence[Mapping[str, Any]] = (),
    **sections: Any,
) -> Path:
    """A config over ``urls`` whose ``rules`` notify ``notify``; ``sections`` are added or
    replace the defaults given here (state and digests beside the file, loopback allowed)."""
    config: dict[str, Any] = {
        "storage": "sqlite:///state/monitor.db",
        "http": {"allow_networks": ["127.0.0.0/8"]},
        "feeds": [{"name": f"f{i}", "url": url} for i, url in enumerate(urls)],
        "rules": [
            *({"name": r.name, "query": r.query, "notify": [notify]} for r in rules),
            *extra_rules,
        ],
        "digests": [{"name": "daily", "schedule": "0 7 * * *", "channels": ["files"]}],
        "channels": {"files": {"type": "file", "path": "digests/"}},
    }
    config.update(sections)
    path.write_text("\n".join(_yaml(config)) + "\n", encoding="utf-8")
    return path
