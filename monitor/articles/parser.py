"""The HTML parser every extraction step shares: trafilatura's, with a class lookup in C.

lxml creates a Python proxy for each element a step touches, and asks the parser's class
lookup which class that proxy gets. ``lxml.html`` answers through a Python method (it picks
special classes for form controls), called millions of times over a page set: about a
seventh of trafilatura's time. :func:`use_fast_lookup` gives trafilatura's module-wide
parser a lookup done in C that hands every element the plain ``HtmlElement`` class. Neither
trafilatura nor this package uses the form classes; ``tests/test_articles_parser.py`` checks
that the extracted text is the same on corpus pages. Worker processes call it on import of
:mod:`monitor.articles.extract`.
"""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlElementClassLookup, HtmlEntity
from lxml.html import HtmlProcessingInstruction as HtmlPI
from trafilatura.utils import HTML_PARSER

_FAST = etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlPI, entity=HtmlEntity
)


def use_fast_lookup(fast: bool = True) -> None:
    """Switch trafilatura's HTML parser to the C lookup (or back to lxml.html's own)."""
    HTML_PARSER.set_element_class_lookup(_FAST if fast else HtmlElementClassLookup())
