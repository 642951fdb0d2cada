"""Decoding a page's bytes the way browsers mostly do, with a guess as the last resort."""

from __future__ import annotations

import codecs
import re

from trafilatura.utils import decode_file

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# WHATWG: these labels mean windows-1252
_AS_CP1252 = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "ascii", "us-ascii"})


def declared_charset(html: bytes) -> str | None:
    """The charset named in the page's first ``<meta>`` tags, if Python knows it."""
    match = _DECLARED.search(html[:8192])
    if not match:
        return None
    return _known(match[1].decode("ascii", "replace"))


def _known(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    try:
        return codecs.lookup("cp1252" if label in _AS_CP1252 else label).name
    except LookupError:
        return None


def decode_html(html: bytes, encoding: str | None = None) -> str:
    """Decode a page: byte-order mark, valid UTF-8, ``encoding`` (the HTTP charset), the
    charset the page declares, then a guess.

    Valid UTF-8 wins over a declared single-byte charset: multi-byte UTF-8 sequences are
    almost never intended Latin text, while mislabelled UTF-8 pages are common.
    """
    for bom, bom_encoding in _BOMS:
        if html.startswith(bom):
            return html[len(bom) :].decode(bom_encoding, "replace")
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        pass
    charset = _known(encoding) or declared_charset(html)
    if charset is not None and not charset.startswith("utf-"):  # UTF-16 without BOM: a lie
        return html.decode(charset, "replace")
    return decode_file(html)
