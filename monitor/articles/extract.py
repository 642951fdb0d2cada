"""Main text and metadata of one article page: bytes in, :class:`ExtractedPage` out.

The steps, all in memory (this runs inside a bounded worker process):

1. decode the bytes (byte-order mark, valid UTF-8, HTTP or declared charset, then a guess)
   and parse them with trafilatura's HTML loader (its parser given a faster element
   lookup, :mod:`monitor.articles.parser`);
2. read title, author, date and language from the untouched tree;
3. drop promotional containers recognisable by their markup (:mod:`monitor.articles.promo`);
4. extract the main text with trafilatura in precision mode, without comments (its
   costliest discard expressions replaced by Python twins, :mod:`monitor.articles.discard`);
5. drop paragraphs the host repeats in many articles and appeals glued onto paragraph edges
   (:mod:`monitor.articles.boilerplate`).
"""

from __future__ import annotations

import re
import unicodedata

import trafilatura
from trafilatura.settings import Document

from monitor.articles import discard
from monitor.articles.boilerplate import drop_boilerplate
from monitor.articles.charset import decode_html
from monitor.articles.language import declared_language, guess_language
from monitor.articles.metadata import published_date, title_and_author
from monitor.articles.parser import use_fast_lookup
from monitor.articles.promo import remove_promo_containers
from monitor.errors import ExtractError
from monitor.model import ExtractedPage

MIN_WORDS = 25
"""Pages whose main text has fewer words raise :class:`ExtractError`."""

_WORD = re.compile(r"\w+")

use_fast_lookup()
discard.install()


def extract_page(
    html: bytes,
    url: str,
    *,
    boilerplate: frozenset[str] = frozenset(),
    encoding: str | None = None,
) -> ExtractedPage:
    """Extract the article of one page.

    ``boilerplate`` holds the fingerprints learned for the page's host
    (:func:`~monitor.articles.boilerplate.learned_boilerplate`); ``encoding`` is the charset
    of the HTTP Content-Type header, if any.

    Raises :class:`ExtractError` when the page yields no text of at least ``MIN_WORDS`` words.
    """
    tree = trafilatura.load_html(decode_html(html, encoding))
    if tree is None:
        raise ExtractError(url, "not an HTML document")
    title, author = title_and_author(tree)
    published = published_date(tree, url)
    language = declared_language(tree)

    removed = ["markup: " + block for block in remove_promo_containers(tree)]
    document = trafilatura.bare_extraction(
        tree, url=url, favor_precision=True, include_comments=False, include_tables=True
    )
    text = document.text if isinstance(document, Document) else None
    text, dropped = drop_boilerplate(unicodedata.normalize("NFC", text or ""), boilerplate)
    removed += dropped
    words = len(_WORD.findall(text))
    if words < MIN_WORDS:
        raise ExtractError(url, f"no main text found ({words} words)")
    return ExtractedPage(
        title=title,
        author=author,
        published=published,
        language=language or guess_language(text),
        text=text,
        removed_blocks=tuple(removed),
    )


def extract_job(
    html: bytes, url: str, boilerplate: frozenset[str], encoding: str | None
) -> ExtractedPage:
    """:func:`extract_page` with positional arguments, for :meth:`WorkerPool.run`.

    It lives here, not in the pipeline, so a worker process imports the extractor alone.
    """
    return extract_page(html, url, boilerplate=boilerplate, encoding=encoding)
