"""extract_page on the seed story (an Independent-like page) and on real pages.

Fixtures under tests/fixtures/articles: ``seed-independent.html`` carries the donation appeal
in a box labelled by its markup, with the appeal's last sentence glued to the story's first
one in the same text node; ``seed-independent-inbody.html`` carries the appeal as plain
paragraphs inside the article body; ``independent-other-N.html`` are other stories of the same
host with the same in-body appeal, from which the boilerplate is learned.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import pickle
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
import trafilatura

from monitor.articles.boilerplate import learned_boilerplate, paragraph_fingerprints
from monitor.articles.extract import extract_page
from monitor.errors import ExtractError
from monitor.model import ExtractedPage
from monitor.workers import WorkerPool
from tests.conftest import DATA

FIXTURES = Path(__file__).parent / "fixtures" / "articles"
URL = (
    "https://www.independent.co.uk/news/world/middle-east/hamas-syria-damascus-assad-b2206312.html"
)
APPEAL_MARKS = ("Your support", "donation", "paywalls", "The Independent is trusted")


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _assert_clean_seed(page: ExtractedPage) -> None:
    assert page.text.startswith("Two senior officials from the Palestinian militant Hamas group")
    assert "Khalil al-Hayeh" in page.text
    assert "axis of resistance" in page.text
    assert page.text.rstrip().endswith("but is now in Qatar.")
    for mark in APPEAL_MARKS:
        assert mark not in page.text
    for chrome in ("Advertisement", "More about", "Sign up", "Privacy notice"):
        assert chrome not in page.text


def test_seed_page_with_a_labelled_appeal_box_comes_out_clean() -> None:
    page = extract_page(_fixture("seed-independent.html"), URL)
    _assert_clean_seed(page)
    assert page.title == "Militant Hamas group back in Damascus after years of tension"
    assert page.author == "Maya Haddad"
    assert page.published == datetime(2022, 10, 19, 14, 8, 31, tzinfo=UTC)
    assert page.published.utcoffset() is not None
    assert page.language == "en"
    # what was dropped is reported, for `monitor extract`
    assert any(
        b.startswith("markup: Your support helps us to tell the story") for b in page.removed_blocks
    )
    assert "appeal: Your support makes all the difference." in page.removed_blocks


def test_plain_trafilatura_keeps_the_glued_appeal_sentence() -> None:
    text = trafilatura.extract(_fixture("seed-independent.html"))
    assert text is not None
    assert text.startswith("Your support makes all the difference.Two senior officials")


def test_plain_trafilatura_keeps_an_in_body_appeal() -> None:
    html = _fixture("seed-independent-inbody.html")
    for text in (
        trafilatura.extract(html),
        trafilatura.extract(html, favor_precision=True, include_comments=False),
    ):
        assert text is not None
        assert "Your donation allows us to keep sending journalists" in text
        assert "we choose not to lock Americans out of our reporting" in text


def test_in_body_appeal_stays_until_the_host_boilerplate_is_learned() -> None:
    html = _fixture("seed-independent-inbody.html")
    naive = extract_page(html, URL)
    assert "Your donation allows us" in naive.text  # no markup tells it apart

    counts: Counter[str] = Counter()
    for n in (1, 2, 3):
        other = extract_page(
            _fixture(f"independent-other-{n}.html"), f"https://www.independent.co.uk/{n}"
        )
        counts.update(paragraph_fingerprints(other.text))
    learned = learned_boilerplate(counts, min_articles=3)
    assert learned_boilerplate(counts, min_articles=4) == frozenset()

    page = extract_page(html, URL, boilerplate=learned)
    _assert_clean_seed(page)
    assert sum(b.startswith("learned: ") for b in page.removed_blocks) == 4


def test_learning_from_two_articles_is_not_enough() -> None:
    counts: Counter[str] = Counter()
    for n in (1, 2):
        counts.update(
            paragraph_fingerprints(extract_page(_fixture(f"independent-other-{n}.html"), URL).text)
        )
    page = extract_page(
        _fixture("seed-independent-inbody.html"), URL, boilerplate=learned_boilerplate(counts)
    )
    assert "Your donation allows us" in page.text


def test_extraction_runs_in_the_worker_pool() -> None:
    """The pipeline runs extraction in a worker process: results and errors must cross it."""
    html = _fixture("seed-independent-inbody.html")
    counts: Counter[str] = Counter()
    for n in (1, 2, 3):
        counts.update(
            paragraph_fingerprints(extract_page(_fixture(f"independent-other-{n}.html"), URL).text)
        )
    job = partial(extract_page, boilerplate=learned_boilerplate(counts))

    async def run(pool: WorkerPool) -> tuple[ExtractedPage, BaseException]:
        page = await pool.run(job, html, URL)
        try:
            await pool.run(extract_page, b"<html><body><p>Not found.</p></body></html>", URL)
        except ExtractError as exc:
            return page, exc
        raise AssertionError("no ExtractError")

    with WorkerPool(max_workers=1, timeout=60) as pool:
        page, error = asyncio.run(run(pool))
    _assert_clean_seed(page)
    assert page == pickle.loads(pickle.dumps(page))
    assert isinstance(error, ExtractError)
    assert error.url == URL


def test_declared_charset_is_honoured() -> None:
    body = "<p>" + "Москва и Дамаск договорились о новых переговорах по безопасности. " * 6 + "</p>"
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        f"<title>Новости</title></head><body><article>{body}</article></body></html>"
    )
    extracted = extract_page(page.encode("cp1251"), "https://example.ru/a")
    assert "Москва и Дамаск договорились" in extracted.text
    assert extracted.language is None  # not declared, and no guess for Cyrillic


def test_http_charset_wins_over_a_missing_declaration() -> None:
    body = (
        "<p>"
        + "Le ministre a déclaré que la réunion à Genève était très importante. " * 10
        + "</p>"
    )
    page = f"<html><body><article>{body}</article></body></html>".encode("iso-8859-1")
    extracted = extract_page(page, "https://example.fr/a", encoding="ISO-8859-1")
    assert "réunion à Genève était très" in extracted.text
    assert extracted.language == "fr"  # guessed from the text


def test_mislabelled_utf8_is_read_as_utf8() -> None:
    body = (
        "<p>" + "Müller sagte, dass die Gespräche über die Grenze weitergehen werden. " * 6 + "</p>"
    )
    head = '<head><meta charset="iso-8859-1"></head>'
    page = f"<html>{head}<body><article>{body}</article></body></html>"
    assert "Müller sagte" in extract_page(page.encode("utf-8"), "https://example.de/a").text


@pytest.mark.parametrize(
    "html",
    [
        b"",
        b"\x00\x01\x02 binary",
        b"<html><body><nav><a href='/'>Home</a></nav><p>Page not found.</p></body></html>",
    ],
)
def test_pages_without_main_text_raise_extract_error(html: bytes) -> None:
    with pytest.raises(ExtractError) as info:
        extract_page(html, "https://example.com/nothing")
    assert info.value.url == "https://example.com/nothing"


def _extract_or_error(html: bytes, url: str) -> ExtractedPage | ExtractError:
    try:
        return extract_page(html, url)
    except ExtractError as exc:
        return exc


def _aeb_sample() -> list[tuple[str, str]]:
    truth = json.loads(
        (DATA / "articles/scrapinghub-aeb/ground-truth.json").read_text(encoding="utf-8")
    )
    return [(key, value["url"]) for key, value in list(truth.items())[::9]]


@pytest.mark.parametrize(("key", "url"), _aeb_sample())
def test_real_pages_extract_or_raise_extract_error(key: str, url: str) -> None:
    html = gzip.decompress((DATA / f"articles/scrapinghub-aeb/html/{key}.html.gz").read_bytes())
    page = _extract_or_error(html, url)
    if isinstance(page, ExtractError):
        assert page.url == url
        return
    assert len(page.text.split()) >= 25
    assert page.title
    assert page.published is None or page.published.tzinfo is not None
    assert all(line.strip() == line and line for line in page.text.splitlines())
