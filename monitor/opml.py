"""OPML in and out (pure): feed lists to and from other readers.

Import reads every ``<outline>`` with an ``xmlUrl`` (nested folders become tags); export
writes one outline per feed, grouped under its first tag. External entities are never
resolved and the network is never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree


@dataclass(frozen=True)
class OpmlFeed:
    name: str
    url: str
    tags: tuple[str, ...] = field(default=())


class OpmlError(ValueError):
    """The document is not OPML we can read."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Return the feeds of an OPML document, in document order, without duplicates by URL."""
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from exc
    if root.tag != "opml":
        raise OpmlError(f"the root element is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError("no <body> element")
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()

    def walk(node: etree._Element, tags: tuple[str, ...]) -> None:
        for outline in node.iterfind("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            name = (outline.get("title") or outline.get("text") or "").strip()
            if url:
                if url not in seen:
                    seen.add(url)
                    feeds.append(OpmlFeed(name or url, url, tags))
            else:
                walk(outline, (*tags, name) if name else tags)

    walk(body, ())
    return feeds


def render_opml(feeds: Sequence[OpmlFeed], title: str = "monitor feeds") -> bytes:
    """Return an OPML 2.0 document listing ``feeds``, grouped by their first tag."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for feed in feeds:
        parent = body
        if feed.tags:
            tag = feed.tags[0]
            if tag not in folders:
                folders[tag] = etree.SubElement(body, "outline", text=tag, title=tag)
            parent = folders[tag]
        etree.SubElement(
            parent, "outline", type="rss", text=feed.name, title=feed.name, xmlUrl=feed.url
        )
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out
