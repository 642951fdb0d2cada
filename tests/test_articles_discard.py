"""The Python twins of trafilatura's discard expressions select exactly what they replace."""

from __future__ import annotations

from copy import deepcopy

import pytest
import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.settings import Extractor

from monitor.articles import discard
from tests.conftest import corpus_pages, extract_or_reason

TRICKY = """<html><body>
<div id="" class="cookie-notice">id first and empty: the cookie test reads ""</div>
<div class="cookie-notice" id="x">class first: the cookie test reads the class</div>
<section role="Navigation">role, upper case N</section>
<span data-lp-replacement-content="">present but empty</span>
<p data-component="MostPopularStoriesList">popular</p>
<div class="social-links">social</div><div class="Share">no class match</div>
<div id="Share">id match</div><div id="x-ad-1">no</div><div id="ad-1">id ad</div>
<div class="a ad b">ad</div><div class="header">no</div><div class="Footer">footer</div>
<p class="comments-title">t</p><a id="reply-1" class="x">reply, id first</a>
<a class="reply-2" id="x">reply, class first</a><i style="display: none">h</i>
<b style="color:red" id="hidden-1">style first: reads the style</b>
<b id="x" aria-hidden="true">a</b>
<div id="comments">c</div><div class="commentary">no</div><details id="comol">c</details>
<ul class="comment-list"><li>c</li></ul><ol id="disqus_thread"><li>no: ol needs comol</li></ol>
<div class="infinite-scroll"><h1>kept: holds the h1</h1></div>
<div class="infinite-scroll"><p>pruned</p></div><aside id="mvp-post-add-box"><h1>pruned</h1></aside>
</body></html>"""


def _twins() -> list[discard.Twin]:
    twins = [getattr(trafilatura.xpaths, s.table)[s.index] for s in discard.SPECS]
    assert all(isinstance(t, discard.Twin) for t in twins)
    return twins


def _same_selection(tree: HtmlElement, name: str) -> None:
    for twin in _twins():
        expected = twin.original(tree)  # type: ignore[operator]
        assert twin(tree) == expected, (name, twin.original)


def test_extraction_installs_every_twin() -> None:
    assert len(discard.install()) == len(discard.SPECS) == 5


def test_twins_agree_on_attribute_order_case_and_empty_values() -> None:
    tree = trafilatura.load_html(TRICKY)
    assert tree is not None
    _same_selection(tree, "tricky")
    selected = {e.text_content() for twin in _twins() for e in twin(tree)}
    assert "class first: the cookie test reads the class" in selected
    assert 'id first and empty: the cookie test reads ""' not in selected
    assert "kept: holds the h1" not in selected
    assert "pruned" in selected


def test_twins_select_what_their_expressions_select_on_corpus_pages() -> None:
    pages = corpus_pages()[::2]
    assert len(pages) > 250
    options = Extractor(output_format="txt", precision=True, comments=False)
    for i, (name, raw) in enumerate(pages):
        tree = trafilatura.load_html(raw)
        if tree is None:
            continue
        _same_selection(tree, name)
        if i % 3 == 0:  # as trafilatura meets them: cleaned, tags converted
            _same_selection(convert_tags(tree_cleaning(deepcopy(tree), options), options), name)


def test_extraction_is_the_same_with_the_original_expressions() -> None:
    pages = corpus_pages()[1::6]
    with_twins = [extract_or_reason(raw) for _, raw in pages]
    discard.install(False)
    try:
        assert not any(
            isinstance(getattr(trafilatura.xpaths, s.table)[s.index], discard.Twin)
            for s in discard.SPECS
        )
        originals = [extract_or_reason(raw) for _, raw in pages]
    finally:
        discard.install(True)
    for (name, _), a, b in zip(pages, with_twins, originals, strict=True):
        assert a == b, name


_SPEC = discard.Spec(
    "TABLE",
    0,
    ".//*[self::div][ re:test(@id, '…') or re:test(@class, '…')]",
    ("div",),
    discard.SPECS[2].predicate,
)
_NS = {"re": "http://exslt.org/regular-expressions"}


@pytest.mark.parametrize(
    ("xpath", "twinned"),
    [
        (".//*[self::div][ re:test(@id, 'x') or re:test(@class, 'y')]", True),
        (".//*[self::div][ re:test(@id, 'x') and re:test(@class, 'y')]", False),  # other logic
        (".//*[self::div][ re:test(@id, 'x?') or re:test(@class, 'y')]", False),  # matches ""
        (".//div", False),
    ],
)
def test_only_the_expected_expression_gets_a_twin(xpath: str, twinned: bool) -> None:
    twin = discard.twin_for(_SPEC, etree.XPath(xpath, namespaces=_NS))
    assert (twin is not None) == twinned
