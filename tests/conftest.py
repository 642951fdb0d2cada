"""Shared fixtures: the loopback HTTP farm and paths to the real-world test material."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.articles.extract import extract_page
from monitor.errors import ExtractError
from monitor.model import ExtractedPage
from tests.farm import Farm

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
SEED = SHARED / "seed" / "hamas-damascus.txt"


@pytest.fixture
def farm() -> Iterator[Farm]:
    with Farm() as f:
        yield f


def corpus_pages() -> list[tuple[str, bytes]]:
    """(file name, raw HTML) of every article page in the shared corpora (556 pages)."""
    pages = []
    for corpus in ("scrapinghub-aeb", "trafilatura-eval"):
        root = DATA / "articles" / corpus
        pages += [(p.name, gzip.decompress(p.read_bytes())) for p in sorted(root.rglob("*.gz"))]
    return pages


def extract_or_reason(raw: bytes) -> ExtractedPage | str:
    """What ``extract_page`` makes of a page: the page, or the reason it refused it."""
    try:
        return extract_page(raw, "https://example.com/story")
    except ExtractError as exc:
        return str(exc)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A raw TCP listener on 127.0.0.1:0; a connection attempt would sit in its backlog."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    with sock:
        yield sock
