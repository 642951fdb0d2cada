"""parse_feed over the real feed material, JSON Feed, hopeless documents and hostile input."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import re
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import feedparser
import pytest

from monitor.errors import FeedParseError, WorkerError
from monitor.feeds.parse import parse_feed
from monitor.model import ParsedFeed
from monitor.workers import WorkerPool
from tests.conftest import DATA

FEEDS = DATA / "feeds"
URL = "https://example.org/feed.xml"
GROUPS = (
    "news",
    "mideast",
    "realworld-oddities",
    "rss2email-cases",
    "feedparser-tests/wellformed",
    "feedparser-tests/illformed",
    "feedparser-tests/encoding",
    "feedparser-tests/entities",
    "feedparser-tests/json",
)
NOT_FEEDS = {"manifest.json", "LICENSE", "README", "SOURCE.txt"}
_HEADER = re.compile(r"^\s*Header:\s*([^:\s]+):\s*(.*?)\s*$", re.MULTILINE)
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


def declared_headers(path: Path, data: bytes) -> dict[str, str]:
    """The ``Header: Name: value`` lines of a feedparser test file served over HTTP upstream."""
    if not (path.name.startswith(("http_", "bozo_http_")) or "encoding" in path.parts):
        return {}
    text = next((data.decode(enc, "replace") for bom, enc in _BOMS if data.startswith(bom)), None)
    return dict(_HEADER.findall(text if text is not None else data.decode("latin-1")))


@cache
def corpus() -> dict[str, list[Path]]:
    """Feed files per group, each distinct document once (mideast repeats news files)."""
    seen: set[str] = set()
    groups: dict[str, list[Path]] = {}
    for group in GROUPS:
        files = []
        for path in sorted((FEEDS / group).rglob("*")):
            if not path.is_file() or path.name in NOT_FEEDS:
                continue
            if path.suffix in (".config", ".expected"):
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                files.append(path)
        groups[group] = files
    return groups


def test_corpus_is_complete() -> None:
    groups = corpus()
    tests = sum(len(groups[g]) for g in GROUPS if g.startswith("feedparser-tests"))
    assert tests == 1461  # 1,462 files, two of them identical
    assert len(groups["news"]) == 61
    assert sum(len(files) for files in groups.values()) > 1540


@pytest.mark.parametrize("group", GROUPS)
def test_every_document_parses_like_feedparser(group: str) -> None:
    mismatches: list[tuple[str, int, int | None]] = []
    for path in corpus()[group]:
        data = path.read_bytes()
        headers = declared_headers(path, data)
        try:
            parsed: ParsedFeed | None = parse_feed(data, headers, URL)
        except FeedParseError as exc:
            parsed = None
            if not exc.reason or exc.url != URL:
                mismatches.append((path.name, -1, None))
        # The reference skips HTML sanitising: it changes text, never the entry count.
        reference = feedparser.parse(
            io.BytesIO(data),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        if reference.entries and (parsed is None or len(parsed.entries) != len(reference.entries)):
            found = None if parsed is None else len(parsed.entries)
            mismatches.append((path.name, len(reference.entries), found))
    assert mismatches == []


def test_real_feed_fields_match_feedparser() -> None:
    data = (FEEDS / "news" / "aljazeera_all.rss").read_bytes()
    parsed = parse_feed(data, {"content-type": "application/rss+xml"}, URL)
    reference = feedparser.parse(io.BytesIO(data)).entries[0]
    first = parsed.entries[0]
    assert parsed.format == "rss20"
    assert not parsed.bozo
    assert len(parsed.entries) == 25
    assert first.title == reference.title
    assert (
        first.title == "Stephen Colbert says CBS barred interview with Texas Democratic candidate"
    )
    assert first.link == reference.link
    assert first.guid == reference.id
    assert first.published == datetime(2026, 2, 18, 1, 51, tzinfo=UTC)
    assert all(e.published and e.published.tzinfo is UTC for e in parsed.entries)


def test_missing_content_type_does_not_garble_undeclared_utf8() -> None:
    # aljazeera_all.rss has no XML declaration and non-ASCII titles.
    data = (FEEDS / "news" / "aljazeera_all.rss").read_bytes()
    bare = parse_feed(data, {}, URL)
    with_etag = parse_feed(data, {"ETag": '"abc"'}, URL)
    assert [e.title for e in with_etag.entries] == [e.title for e in bare.entries]
    assert any(ord(c) > 127 for e in bare.entries for c in e.title)
    assert not any("â€" in e.title for e in bare.entries)


@pytest.mark.parametrize(
    ("name", "pattern"),
    [("oren_ru_windows1251.rss", "[А-Яа-я]{4}"), ("golem_iso-8859-1.rss", "[äöüÄÖÜß]")],
)
def test_legacy_encodings_are_decoded(name: str, pattern: str) -> None:
    parsed = parse_feed((FEEDS / "news" / name).read_bytes(), {}, URL)
    assert any(re.search(pattern, e.title) for e in parsed.entries)


def test_ill_formed_feed_with_entries_is_used() -> None:
    data = (FEEDS / "realworld-oddities" / "leading-whitespace.rss").read_bytes()
    parsed = parse_feed(data, {}, URL)
    assert parsed.bozo
    assert parsed.bozo_reason is not None
    assert "SAXParseException" in parsed.bozo_reason
    assert len(parsed.entries) == 15


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("news/reuters_mostread_invalid.rss", "ill-formed feed with no entries"),
        ("realworld-oddities/malformed-prefixed.rss", "ill-formed feed with no entries"),
    ],
)
def test_broken_real_feeds_without_entries_are_errors(path: str, reason: str) -> None:
    with pytest.raises(FeedParseError, match=reason) as caught:
        parse_feed((FEEDS / path).read_bytes(), {}, URL)
    assert caught.value.url == URL


def test_html_page_is_not_a_feed() -> None:
    page = next((DATA / "articles" / "mozilla-readability").glob("*/source.html.gz"))
    html = gzip.decompress(page.read_bytes())
    with pytest.raises(FeedParseError, match="an HTML page, not a feed"):
        parse_feed(html, {"Content-Type": "text/html; charset=utf-8"}, URL)
    with pytest.raises(FeedParseError, match="an HTML page, not a feed"):
        parse_feed(html, {}, URL)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", "application/rss+xml", "empty document"),
        (b" \r\n ", "", "empty document"),
        (bytes(range(256)) * 8, "", "no RSS, Atom"),
        (b"<?xml version='1.0'?><catalog><book>x</book></catalog>", "text/xml", "no RSS, Atom"),
        (b'{"data": [1, 2, 3]}', "application/json", "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "", "without an items array"),
        (b'{"version": "https://jsonfeed.org/version/1", ', "", "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "invalid JSON"),
    ],
)
def test_hopeless_documents_raise(body: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(FeedParseError, match=reason):
        parse_feed(body, {"Content-Type": content_type} if content_type else {}, URL)


def test_feed_mislabelled_as_json_is_read_as_xml() -> None:
    data = (FEEDS / "news" / "bbc_world.rss").read_bytes()
    parsed = parse_feed(data, {"Content-Type": "application/json"}, URL)
    assert parsed.format == "rss20"
    assert len(parsed.entries) == 33


def test_well_formed_feed_without_entries_is_fine() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Quiet desk</title><link>https://example.org/</link>
<ttl>45</ttl></channel></rss>"""
    parsed = parse_feed(body, {"content-type": "application/rss+xml"}, URL)
    assert parsed == ParsedFeed(
        title="Quiet desk", link="https://example.org/", format="rss20", entries=(), ttl_minutes=45
    )


def rss(item: str, *, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"{channel}<item>{item}</item></channel></rss>"
    ).encode()


def test_titles_lose_control_characters_and_links_resolve() -> None:
    body = rss(
        "<title>  Breaking\x1b news\x0bfrom&#x9;\n  Damascus\x00 </title><link>/world/1?a=1</link>"
        "<guid isPermaLink='false'>  id-1  </guid><author>ed@example.org (Ed&#x7f;)</author>"
    )
    entry = parse_feed(body, {}, "https://example.org/feeds/world.xml").entries[0]
    assert entry.title == "Breaking news from Damascus"
    assert entry.link == "https://example.org/world/1?a=1"
    assert entry.guid == "id-1"
    assert entry.author is not None
    assert "\x7f" not in entry.author


def test_content_location_is_the_base_for_links() -> None:
    headers = {"Content-Type": "application/rss+xml", "Content-Location": "/mirror/feed.xml"}
    entry = parse_feed(rss("<title>x</title><link>a/2</link>"), headers, URL).entries[0]
    assert entry.link == "https://example.org/mirror/a/2"


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 10 Jun 2003 04:00:00 GMT", datetime(2003, 6, 10, 4, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 06:00:00 +0200", datetime(2003, 6, 10, 4, tzinfo=UTC)),
        ("Fri, 01 Jan 2100 00:00:00 GMT", datetime(2100, 1, 1, tzinfo=UTC)),  # future: kept
        ("yesterday-ish", None),
        ("", None),
    ],
)
def test_dates_are_aware_utc_or_none(date: str, expected: datetime | None) -> None:
    entry = parse_feed(rss(f"<title>x</title><pubDate>{date}</pubDate>"), {}, URL).entries[0]
    assert entry.published == expected


def test_atom_updated_only_entry_keeps_published_empty() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>urn:x:1</id><title>One</title><updated>2024-03-01T10:00:00Z</updated>
<content type="html">&lt;p&gt;Body &lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;</content>
</entry></feed>"""
    parsed = parse_feed(body, {"content-type": "application/atom+xml"}, URL)
    entry = parsed.entries[0]
    assert parsed.format == "atom10"
    assert entry.published is None
    assert entry.updated == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert "Body" in entry.content
    assert "script" not in entry.content  # feedparser's sanitiser ran


@pytest.mark.parametrize(
    ("ttl", "expected"), [("30", 30), ("0", None), ("-5", None), ("soon", None), ("9999999", None)]
)
def test_rss_ttl(ttl: str, expected: int | None) -> None:
    parsed = parse_feed(rss("<title>x</title>", channel=f"<ttl>{ttl}</ttl>"), {}, URL)
    assert parsed.ttl_minutes == expected


def test_real_json_feed_1_0_yields_its_items() -> None:
    data = (FEEDS / "realworld-oddities" / "jsonfeed.json").read_bytes()
    document = json.loads(data)
    assert feedparser.parse(io.BytesIO(data)).entries == []  # feedparser 6 cannot
    parsed = parse_feed(data, {"content-type": "application/json"}, URL)
    first, item = parsed.entries[0], document["items"][0]
    assert parsed.format == "json1"
    assert parsed.title == document["title"]
    assert len(parsed.entries) == len(document["items"]) == 10
    assert (first.guid, first.link, first.title) == (item["id"], item["url"], item["title"])
    assert first.author == "Nicholas C. Zakas"
    assert first.summary == item["summary"]
    assert first.published == datetime.fromisoformat(item["date_published"]).astimezone(UTC)
    # Sniffed without a Content-Type too.
    assert parse_feed(data, {}, URL) == parsed


JSON_FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Desk\u0007 wire",
    "home_page_url": "https://example.org/",
    "items": [
        {
            "id": 1042,
            "external_url": "https://example.org/a/1042",
            "title": "Talks in Damascus",
            "content_html": "<p onclick='x()'>Delegations met.<script>alert(1)</script></p>",
            "date_published": "2024-05-01T09:30:00+02:00",
            "date_modified": "2024-05-01T12:00:00Z",
            "authors": [{"name": "Rana"}, {"name": "Omar"}, {"url": "https://x"}],
        },
        "not an item",
        {"id": "b", "url": "https://example.org/b", "content_text": "Plain", "date_published": "?"},
        {
            "id": "c",
            "date_published": "0001-01-01T00:00:00+01:00",
            "date_modified": "Sun, 02 Jun 2024 10:00:00 GMT",
        },
    ],
}


def test_json_feed_1_1_fixture() -> None:
    body = b"\xef\xbb\xbf" + json.dumps(JSON_FEED_11).encode()
    parsed = parse_feed(body, {"content-type": "application/feed+json"}, URL)
    assert parsed.format == "json11"
    assert parsed.title == "Desk wire"
    assert parsed.link == "https://example.org/"
    first, second, third = parsed.entries
    assert first.guid == "1042"
    assert first.link == "https://example.org/a/1042"
    assert first.summary == first.content == "<p>Delegations met.</p>"
    assert first.published == datetime(2024, 5, 1, 7, 30, tzinfo=UTC)
    assert first.updated == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert first.author == "Rana, Omar"
    assert (second.summary, second.published, second.author) == ("Plain", None, None)
    assert third.published is None  # out of range once in UTC
    assert third.updated == datetime(2024, 6, 2, 10, tzinfo=UTC)  # RFC 822, leniently
    assert (third.link, third.title, third.summary) == (None, "", "")


def test_feedparser_json_fixture() -> None:
    data = (FEEDS / "feedparser-tests" / "json" / "example.json").read_bytes()
    parsed = parse_feed(data, {}, URL)
    assert parsed.title == "My Example Feed"
    assert len(parsed.entries) == 2


def entity_bomb(value_size: int, references: int) -> bytes:
    """A feed whose one entity (safe-looking to feedparser) is referenced many times."""
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "'
        + b"a" * value_size
        + b'">\n]>\n<rss version="2.0"><channel><title>t</title><item><title>x</title>'
        + b"<description>"
        + b"&a;" * references
        + b"</description></item></channel></rss>"
    )


def test_entity_expansion_bomb_is_contained_by_the_worker() -> None:
    async def attempt() -> ParsedFeed:
        with WorkerPool(max_workers=1, timeout=10, memory_limit=256 << 20) as pool:
            # A small one parses: the limits leave room for honest entities.
            small = await pool.run(parse_feed, entity_bomb(100, 10), {}, URL)
            assert len(small.entries[0].summary) == 1000
            return await pool.run(parse_feed, entity_bomb(1 << 20, 10_000), {}, URL)

    started = time.monotonic()
    with pytest.raises((WorkerError, FeedParseError)):
        asyncio.run(attempt())
    assert time.monotonic() - started < 15
