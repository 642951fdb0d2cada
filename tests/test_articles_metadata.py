"""Page metadata: publication date with its offset, declared and guessed language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import trafilatura
from lxml import html
from trafilatura.metadata import extract_author

from monitor.articles.byline import author_from_markup
from monitor.articles.charset import decode_html
from monitor.articles.language import declared_language, guess_language
from monitor.articles.metadata import parse_datetime, published_date, title_and_author
from tests.conftest import corpus_pages

BST = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-10-19T14:08:31.000Z", datetime(2022, 10, 19, 14, 8, 31, tzinfo=UTC)),
        ("2022-10-19T15:08:31+01:00", datetime(2022, 10, 19, 15, 8, 31, tzinfo=BST)),
        ("2022-10-19 14:08", datetime(2022, 10, 19, 14, 8, tzinfo=UTC)),  # no offset: UTC
        ("2022-10-19", datetime(2022, 10, 19, tzinfo=UTC)),
        ("Wed, 19 Oct 2022 15:08:31 +0100", datetime(2022, 10, 19, 15, 8, 31, tzinfo=BST)),
        ("  2022-10-19T14:08:31Z\n", datetime(2022, 10, 19, 14, 8, 31, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        ("1850-01-01", None),  # implausible for a web page
    ],
)
def test_parse_datetime(value: str, expected: datetime | None) -> None:
    parsed = parse_datetime(value)
    assert parsed == expected
    offsets = [None if d is None else d.utcoffset() for d in (parsed, expected)]
    assert offsets[0] == offsets[1]


def _tree(head: str, body: str = "<p>Text.</p>", attrs: str = "") -> html.HtmlElement:
    return html.document_fromstring(f"<html {attrs}><head>{head}</head><body>{body}</body></html>")


def test_published_date_prefers_article_meta_then_json_ld_then_time() -> None:
    ld = '<script type="application/ld+json">{"@graph": [{"@type": "WebPage", "datePublished": "2020-01-01"}, {"@type": "NewsArticle", "datePublished": "2021-05-06T07:08:09+02:00"}]}</script>'  # noqa: E501
    meta = '<meta property="article:published_time" content="2022-10-19T14:08:31Z">'
    time = '<time itemprop="datePublished" datetime="2019-03-04T05:06:07Z">4 March</time>'
    assert published_date(_tree(meta + ld, time)) == datetime(2022, 10, 19, 14, 8, 31, tzinfo=UTC)
    in_ld = published_date(_tree(ld, time))
    assert in_ld == datetime(2021, 5, 6, 5, 8, 9, tzinfo=UTC)
    assert in_ld is not None
    assert in_ld.utcoffset() == timedelta(hours=2)
    assert published_date(_tree("", time)) == datetime(2019, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_published_date_falls_back_to_the_url_and_else_none() -> None:
    url = "https://example.com/news/2021/07/15/some-story"
    assert published_date(_tree(""), url) == datetime(2021, 7, 15, tzinfo=UTC)
    assert published_date(_tree(""), "https://example.com/about") is None
    broken = '<script type="application/ld+json">{not json</script>'
    assert published_date(_tree(broken)) is None


def test_title_and_author() -> None:
    tree = _tree(
        '<meta property="og:title" content="  Hamas  back in Damascus ">'
        '<meta name="author" content="Maya Haddad">',
    )
    assert title_and_author(tree) == ("Hamas back in Damascus", "Maya Haddad")
    # a one-word "author" is usually the site
    assert title_and_author(_tree('<meta name="author" content="Reuters">', "<h1>Title</h1>")) == (
        "Title",
        None,
    )


@pytest.mark.parametrize(
    ("attrs", "head", "expected"),
    [
        ('lang="en-GB"', "", "en"),
        ('lang="pt_BR"', "", "pt"),
        ("", '<meta http-equiv="Content-Language" content="de-DE, en">', "de"),
        ("", '<meta property="og:locale" content="fr_FR">', "fr"),
        ("", '<script type="application/ld+json">{"inLanguage": "ar"}</script>', "ar"),
        ('lang="und"', "", None),
        ('lang=""', "", None),
        ("", "", None),
    ],
)
def test_declared_language(attrs: str, head: str, expected: str | None) -> None:
    assert declared_language(_tree(head, attrs=attrs)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The talks between the two sides resumed on Monday, and officials said that it was "
            * 3,
            "en",
        ),
        (
            "Die Gespräche zwischen den beiden Seiten wurden am Montag wieder aufgenommen, und "
            * 8,
            "de",
        ),
        (
            "Les discussions entre les deux parties ont repris lundi et les responsables de la "
            * 4,
            "fr",
        ),
        (
            "Las conversaciones entre las dos partes se reanudaron el lunes y los funcionarios "
            * 5,
            "es",
        ),
        ("زار وفد من حركة حماس العاصمة السورية دمشق للمرة الأولى منذ عشر سنوات", "ar"),
        ("short text", None),
        ("Москва и Дамаск договорились о новых переговорах", None),
    ],
)
def test_guess_language(text: str, expected: str | None) -> None:
    assert guess_language(text) == expected


@pytest.mark.parametrize(
    ("raw", "encoding", "expected"),
    [
        ("Müller".encode(), None, "Müller"),
        (b"\xef\xbb\xbf" + "Müller".encode(), None, "Müller"),
        ("\ufeffMüller".encode("utf-16-le"), None, "Müller"),
        ("\ufeffMüller".encode("utf-16-be"), None, "Müller"),
        ("Müller ‘quoted’".encode("cp1252"), "iso-8859-1", "Müller ‘quoted’"),  # WHATWG: cp1252
        ('<meta charset="koi8-r">Дамаск'.encode("koi8-r"), None, '<meta charset="koi8-r">Дамаск'),
        ("Дамаск".encode("cp1251"), "windows-1251", "Дамаск"),
    ],
)
def test_decode_html(raw: bytes, encoding: str | None, expected: str) -> None:
    assert decode_html(raw, encoding) == expected


def test_bylines_are_read_as_trafilatura_reads_them_on_every_corpus_page() -> None:
    # author_from_markup re-implements trafilatura's extract_author in one pass; on every
    # real page it must give the same answer (a trafilatura upgrade that changes its
    # byline rules shows up here).
    pages = corpus_pages()
    assert len(pages) > 500
    named = 0
    for name, raw in pages:
        tree = trafilatura.load_html(raw)
        if tree is None:
            continue
        expected = extract_author(tree)
        assert author_from_markup(tree) == expected, name
        named += expected is not None
    assert named > 300  # most pages do name an author


def test_byline_inside_a_deleted_part_or_holding_one() -> None:
    page = html.fromstring(
        "<html><body>"
        "<div class='comments'><span class='author'>A Commenter</span></div>"
        "<p class='byline'>By <time>today</time>Jane Roe</p>"
        "</body></html>"
    )
    # the commenter's byline sits in a comment list: skipped; the date inside the real
    # byline is cut out, its tail kept
    assert author_from_markup(page) == extract_author(page) == "Jane Roe"
