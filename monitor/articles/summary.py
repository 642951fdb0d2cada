"""Plain text of a feed entry's own summary or content (pure).

Used when the article page cannot be fetched or extracted, and for feeds configured with
``fetch_articles: false``. Scripts, styles and comments are dropped; block elements become
line breaks; whitespace is folded.
"""

from __future__ import annotations

import html as std_html
import re

from lxml import etree, html

_BLOCKS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "tr",
        "table",
        "section",
        "article",
        "figure",
    ]
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def html_to_text(markup: str) -> str:
    """Return the readable text of an HTML fragment (or of plain text, unchanged but tidied)."""
    if not markup.strip():
        return ""
    if "<" not in markup:
        return _tidy(std_html.unescape(markup))
    try:
        root = html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy(markup)
    etree.strip_elements(
        root, "script", "style", "noscript", "template", etree.Comment, with_tail=False
    )
    parts: list[str] = []
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _BLOCKS:
                parts.append("\n")
            if el.text:
                parts.append(el.text)
        else:
            if tag in _BLOCKS:
                parts.append("\n")
            if el.tail and el is not root:
                parts.append(el.tail)
    return _tidy("".join(parts))


def _tidy(text: str) -> str:
    text = _CONTROL.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
