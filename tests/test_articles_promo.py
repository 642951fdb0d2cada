"""Promotional containers recognised by markup, and reader appeals recognised in text."""

from __future__ import annotations

import pytest
from lxml import html

from monitor.articles.promo import (
    PROMO_TOKENS,
    attribute_tokens,
    is_promo_sentence,
    remove_promo_containers,
)

STORY = " ".join(["Officials met in the capital on Wednesday to discuss the talks."] * 30)


@pytest.mark.parametrize(
    ("value", "promo"),
    [
        ("donation-appeal", True),
        ("support-us", True),
        ("SupportUs", True),
        ("newsletterSignup", True),
        ("newsletter-sign-up", True),
        ("ad-slot", True),
        ("ad ad300", True),
        ("AdChoices", True),
        ("related-articles", True),
        ("most-read", True),
        ("td-social-sharing-button", True),
        ("subscribe-cta", True),
        # whole tokens only: "ad" is not in header, heading, read, load, shadow, download
        ("header", False),
        ("article-heading", False),
        ("read-more", False),
        ("lazyload shadow", False),
        ("download-link", False),
        ("article-body", False),
        ("story-content", False),
        # a hash is one opaque token even when it contains the letters "ad"
        ("c8cd8e8b6760b3b0723ad35e48c80ca83a8550d0", False),
        # negated
        ("non-paywall", False),
        ("no-ads", False),
        ("paywall", False),  # article bodies are often wrapped in a "paywall" container
    ],
)
def test_attribute_tokens_match_whole_words(value: str, promo: bool) -> None:
    assert (not PROMO_TOKENS.isdisjoint(attribute_tokens(value))) is promo


def _page(inner: str) -> html.HtmlElement:
    return html.document_fromstring(f"<html><body>{inner}</body></html>")


def _text(tree: html.HtmlElement) -> str:
    return " ".join(tree.text_content().split())


def test_drops_labelled_boxes_and_keeps_the_article_body() -> None:
    tree = _page(
        '<div class="article-body">'
        f"<p>{STORY}</p>"
        '<div class="donation-box"><h3>Your support helps us</h3><p>Please give.</p></div>'
        '<section aria-label="Related stories"><a href="/x">Another story</a></section>'
        '<div data-component="newsletter-signup">Get our email</div>'
        '<div data-track="Share this on social media">kept: analytics label, not a name</div>'
        '<aside role="complementary" id="ad-slot-2"><span>Advertisement</span></aside>'
        "<p>Last paragraph of the story.</p></div>"
    )
    removed = remove_promo_containers(tree)
    assert removed == [
        "Your support helps us Please give.",
        "Another story",
        "Get our email",
        "Advertisement",
    ]
    text = _text(tree)
    assert STORY in text
    assert "Last paragraph of the story." in text
    assert "kept: analytics label" in text
    for gone in ("Your support", "Another story", "Get our email", "Advertisement"):
        assert gone not in text


@pytest.mark.parametrize(
    "inner",
    [
        f'<article class="post share-enabled"><p>{STORY}</p></article>',
        f'<main class="promo-layout"><p>{STORY}</p></main>',
        # more than half of the page's text
        '<div class="related-content"><p>Officials met in the capital on Wednesday.</p></div>'
        "<p>Footer.</p>",
        # more text than any promotional box has
        f'<div class="has-social-buttons"><p>{STORY} {STORY}</p></div><p>{STORY} {STORY}</p>',
    ],
)
def test_never_drops_article_containers_or_most_of_the_page(inner: str) -> None:
    tree = _page(inner)
    before = _text(tree)
    assert remove_promo_containers(tree) == []
    assert _text(tree) == before


def test_keeps_the_tail_text_of_a_dropped_element() -> None:
    tree = _page(f'<p>{STORY}<span class="share">Share</span> and the story goes on.</p>')
    assert remove_promo_containers(tree) == ["Share"]
    assert _text(tree).endswith(
        "Officials met in the capital on Wednesday to discuss the talks. and the story goes on."
    )


def test_previews_skip_scripts_and_are_short() -> None:
    tree = _page(
        f"<p>{STORY}</p>"
        '<div class="ad"><script>googletag.display("x")</script>Advertisement</div>'
        f'<div class="related">{"Another headline here " * 20}</div>'
    )
    removed = remove_promo_containers(tree)
    assert removed[0] == "Advertisement"
    assert len(removed[1]) == 80
    assert removed[1].endswith("…")


@pytest.mark.parametrize(
    ("sentence", "promo"),
    [
        ("Your support makes all the difference.", True),
        ("Sign up for our newsletter.", True),
        ("Subscribe now for unlimited access.", True),
        ("Become a member and support independent journalism.", True),
        ("Thank you for reading.", True),
        ("Aid groups asked people to donate blood.", False),
        ("Countries that sign up to the treaty must cut emissions.", False),
        ("“We will support the ceasefire,” the minister said.", False),
        ("The theory he subscribes to is contested.", False),
        ("Your support makes all the difference " + "and more " * 20 + ".", False),  # too long
    ],
)
def test_is_promo_sentence(sentence: str, promo: bool) -> None:
    assert is_promo_sentence(sentence) is promo
