"""OPML import/export: parsing other readers' files and editing config.yaml in place."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from monitor.commands.opml import import_cmd, merge_feeds
from monitor.opml import OpmlError, OpmlFeed, parse_opml, render_opml

SAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="Middle East" title="Middle East">
    <outline type="rss" text="Al Jazeera" xmlUrl="https://www.aljazeera.com/xml/rss/all.xml"/>
    <outline type="rss" text="BBC ME" title="BBC Middle East"
             xmlUrl="https://feeds.bbci.co.uk/news/world/middle_east/rss.xml"/>
  </outline>
  <outline type="rss" text="NPR" xmlUrl="https://feeds.npr.org/1004/rss.xml"/>
  <outline type="rss" text="NPR again" xmlUrl="https://feeds.npr.org/1004/rss.xml"/>
</body></opml>"""


def test_parse_nested_folders_become_tags_and_duplicates_collapse() -> None:
    feeds = parse_opml(SAMPLE)
    assert feeds == [
        OpmlFeed("Al Jazeera", "https://www.aljazeera.com/xml/rss/all.xml", ("Middle East",)),
        OpmlFeed(
            "BBC Middle East",
            "https://feeds.bbci.co.uk/news/world/middle_east/rss.xml",
            ("Middle East",),
        ),
        OpmlFeed("NPR", "https://feeds.npr.org/1004/rss.xml", ()),
    ]


def test_round_trip_keeps_names_urls_and_first_tag() -> None:
    feeds = parse_opml(SAMPLE)
    assert parse_opml(render_opml(feeds)) == feeds


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body>", "not well-formed"),
        (b"<rss/>", "not <opml>"),
        (b"<opml version='2.0'/>", "no <body>"),
    ],
)
def test_bad_documents_say_why(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(data)


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<opml version="2.0"><body><outline text="&x;" xmlUrl="https://example.org/f"/></body></opml>'
    ).encode()
    try:
        names = [f.name for f in parse_opml(doc)]
    except OpmlError as exc:  # refusing the document is fine too, if it leaks nothing
        names = [str(exc)]
    assert names
    assert all("TOP-SECRET" not in name for name in names)


def test_merge_keeps_comments_and_skips_known_urls() -> None:
    yaml = YAML()
    doc = yaml.load(
        "# my feeds\nfeeds:\n  - {name: NPR, url: 'https://feeds.npr.org/1004/rss.xml'}  # keep\n"
    )
    added = merge_feeds(doc, parse_opml(SAMPLE))
    assert [f.name for f in added] == ["Al Jazeera", "BBC Middle East"]
    from io import StringIO

    out = StringIO()
    yaml.dump(doc, out)
    text = out.getvalue()
    assert "# my feeds" in text
    assert "# keep" in text
    assert text.count("feeds.npr.org") == 1


def test_import_command_edits_config_and_is_idempotent(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("# comment stays\nfeeds: []\n", encoding="utf-8")
    opml_file = tmp_path / "subs.opml"
    opml_file.write_bytes(SAMPLE)
    runner = CliRunner()
    first = runner.invoke(import_cmd, [str(opml_file), "-c", str(cfg)])
    assert first.exit_code == 0, first.output
    assert "added 3 feed(s)" in first.output
    text = cfg.read_text(encoding="utf-8")
    assert "# comment stays" in text
    assert "aljazeera.com" in text
    second = runner.invoke(import_cmd, [str(opml_file), "-c", str(cfg)])
    assert second.exit_code == 0
    assert "no new feeds" in second.output
