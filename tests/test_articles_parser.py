"""The shared HTML parser's C-level element lookup changes speed only, never the result."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trafilatura
from lxml.html import FormElement, HtmlElement

from monitor.articles.parser import use_fast_lookup
from monitor.model import ExtractedPage
from tests.conftest import corpus_pages, extract_or_reason

FORM_PAGE = "<html><body><form><input name=q></form><p>Text</p></body></html>"


@pytest.fixture
def slow_lookup() -> Iterator[None]:
    use_fast_lookup(False)
    try:
        yield
    finally:
        use_fast_lookup(True)


def test_the_extractor_switches_the_lookup_on_import() -> None:
    tree = trafilatura.load_html(FORM_PAGE)
    assert tree is not None
    assert type(tree.find(".//form")) is HtmlElement


def test_lxml_html_lookup_is_restored_on_request(slow_lookup: None) -> None:
    tree = trafilatura.load_html(FORM_PAGE)
    assert tree is not None
    assert isinstance(tree.find(".//form"), FormElement)


def test_every_field_is_the_same_with_either_lookup_on_corpus_pages() -> None:
    pages = corpus_pages()[::6]
    assert len(pages) > 90
    fast = [extract_or_reason(raw) for _, raw in pages]
    use_fast_lookup(False)
    try:
        slow = [extract_or_reason(raw) for _, raw in pages]
    finally:
        use_fast_lookup(True)
    for (name, _), a, b in zip(pages, fast, slow, strict=True):
        assert a == b, name
    assert sum(isinstance(a, ExtractedPage) for a in fast) > 80
