"""``monitor test-rule`` and ``monitor backtest`` as a user runs them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.commands.rules import backtest
from monitor.commands.rules import test_rule as try_rule
from tests.conftest import DATA, SEED
from tests.farm import Farm

CONFIG = """\
http:
  allow_networks: [127.0.0.0/8]
entities:
  hamas: [Hamas, حماس]
  syria: [Syria, Damascus, سوريا, دمشق]
rules:
  - name: hamas-damascus
    query: hamas AND damascus
  - name: syria-arabic
    query: '@syria "بشار الاسد"'
  - name: axis-new-alignments
    query: '"axis of resistance"'
    novelty: {track: [hamas], within: 30, unseen_for: 90d}
  - name: switched-off
    query: hamas
    enabled: false
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def seed_html(tmp_path: Path) -> Path:
    title, _, text = SEED.read_text(encoding="utf-8").partition("\n")
    paragraphs = "".join(f"<p>{p}</p>" for p in text.splitlines() if p.strip())
    page = tmp_path / "seed.html"
    page.write_text(
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{paragraphs}</article></body></html>",
        encoding="utf-8",
    )
    return page


def test_test_rule_on_text_prints_match_terms_and_marked_snippet() -> None:
    text = "Two senior officials from Hamas visited Damascus on Wednesday."
    result = CliRunner().invoke(try_rule, ["hamas NEAR/3 damascus", "--text", text])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "match"
    assert "terms: hamas, damascus" in lines
    assert "  hamas: text 4" in lines
    assert "[text] Two senior officials from [Hamas] visited [Damascus] on Wednesday." in lines


def test_test_rule_reports_no_match_with_exit_status_1() -> None:
    result = CliRunner().invoke(
        try_rule, ["hamas NEAR/2 damascus", "--text", "Hamas is far from Damascus"]
    )
    assert (result.exit_code, result.output) == (1, "no match\n")


def test_test_rule_points_at_a_bad_query() -> None:
    result = CliRunner().invoke(try_rule, ["hamas AND (iran", "--text", "x"])
    assert result.exit_code == 2
    assert result.output == (
        "error: unbalanced parenthesis at column 11\n  hamas AND (iran\n            ^\n"
    )


def test_test_rule_needs_exactly_one_source() -> None:
    result = CliRunner().invoke(try_rule, ["hamas", "--text", "a", "--url", "http://x/"])
    assert result.exit_code == 2
    assert "exactly one of --text, --file or --url" in result.output


def test_test_rule_uses_the_config_entities(config: Path) -> None:
    result = CliRunner().invoke(try_rule, ["@syria", "-c", str(config), "--text", "In Damascus"])
    assert result.exit_code == 0, result.output
    assert "[text] In [Damascus]" in result.output
    unknown = CliRunner().invoke(try_rule, ["@syria", "--text", "In Damascus"])
    assert unknown.exit_code == 2
    assert "unknown entity @syria at column 1" in unknown.output


def test_test_rule_on_an_html_file(tmp_path: Path) -> None:
    page = seed_html(tmp_path)
    result = CliRunner().invoke(try_rule, ["hamas damascus", "--file", str(page)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "title: Militant Hamas group back in Damascus after years of tension\nmatch\n"
    )
    assert "[Hamas]" in result.output
    assert "[Damascus]" in result.output


def test_test_rule_on_an_arabic_page(tmp_path: Path, config: Path) -> None:
    page = tmp_path / "cnn_arabic.html"
    page.write_bytes(
        gzip.decompress((DATA / "articles/goose3-content/test_cnn_arabic.html.gz").read_bytes())
    )
    query = '@syria NEAR/12 "بشار الاسد"'  # the page spells it الأسد
    result = CliRunner().invoke(try_rule, [query, "-c", str(config), "--file", str(page)])
    assert result.exit_code == 0, result.output
    assert "[دمشق]، [سوريا] (CNN)" in result.output
    assert "[بشار الأسد]" in result.output


def test_test_rule_on_a_url_goes_through_the_http_client(
    tmp_path: Path, config: Path, farm: Farm
) -> None:
    farm.add("/story", body=seed_html(tmp_path).read_bytes(), headers={"Content-Type": "text/html"})
    args = ["hamas damascus", "-c", str(config), "--url", farm.url("/story")]
    result = CliRunner().invoke(try_rule, args)
    assert result.exit_code == 0, result.output
    assert "match" in result.output.splitlines()
    assert [r.path for r in farm.requests] == ["/story"]
    blocked = CliRunner().invoke(try_rule, ["hamas", "--url", farm.url("/story")])
    assert blocked.exit_code == 1
    assert "Error:" in blocked.output  # loopback is refused without allow_networks


def write_corpus(tmp_path: Path) -> Path:
    seed = SEED.read_text(encoding="utf-8")
    title, _, text = seed.partition("\n")
    rows = [
        {"id": "seed", "title": title, "text": text, "published": "2022-10-19T12:00:00+00:00"},
        {"id": "dull", "title": "Markets", "text": "Shares rose.", "source": "wire"},
        {
            "id": "again",
            "title": "Hamas in the axis",
            "text": "Hamas rejoins the axis of resistance, officials in Damascus said.",
            "published": "2022-10-20T08:00:00Z",
        },
        {"id": "arabic", "title": "", "text": "قال بشار الأسد في دمشق", "language": "ar"},
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return corpus


def test_backtest_counts_matches_per_rule(tmp_path: Path, config: Path) -> None:
    corpus = write_corpus(tmp_path)
    result = CliRunner().invoke(backtest, ["-c", str(config), "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:4] == [
        "rule                 matches",
        "hamas-damascus             2",
        "syria-arabic               1",
        "axis-new-alignments        1",
    ]
    assert lines[4].startswith("4 articles, 4 matches in ")


def test_backtest_json_prints_one_line_per_match(tmp_path: Path, config: Path) -> None:
    corpus = write_corpus(tmp_path)
    result = CliRunner().invoke(backtest, ["-c", str(config), "--corpus", str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == [
        {"id": "seed", "rule": "hamas-damascus", "terms": ["hamas", "damascus"]},
        {
            "id": "seed",
            "rule": "axis-new-alignments",
            "terms": ['"axis of resistance"', "@hamas"],
            "novel_actors": ["hamas"],
        },
        {"id": "again", "rule": "hamas-damascus", "terms": ["hamas", "damascus"]},
        {"id": "arabic", "rule": "syria-arabic", "terms": ["@syria", '"بشار الاسد"']},
    ]
    assert "hamas-damascus             2" in result.stderr


def test_backtest_names_the_bad_line(tmp_path: Path, config: Path) -> None:
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"id": 1, "title": "a", "text": "b"}\n{oops\n', encoding="utf-8")
    result = CliRunner().invoke(backtest, ["-c", str(config), "--corpus", str(corpus)])
    assert result.exit_code == 1
    assert f"{corpus}:2: not JSON" in result.output


def test_backtest_reports_config_errors(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("rules:\n  - name: r\n    query: (hamas\n", encoding="utf-8")
    corpus = write_corpus(tmp_path)
    result = CliRunner().invoke(backtest, ["-c", str(config), "--corpus", str(corpus)])
    assert result.exit_code == 78
    assert "rules[0].query: unbalanced parenthesis" in result.output
