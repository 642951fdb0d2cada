"""Regression guard: on a sample of real news pages our extraction is no worse than trafilatura's.

The full comparison (181 + 375 pages, speed, memory) is ``python -m bench.extraction``.
"""

from __future__ import annotations

import trafilatura

from bench.extraction import load_aeb, token_f1
from monitor.articles.extract import extract_page
from monitor.errors import ExtractError
from tests.conftest import DATA

TOLERANCE = 0.005


def test_mean_token_f1_is_at_least_plain_trafilatura() -> None:
    pages = load_aeb(DATA / "articles")[::7]
    assert len(pages) >= 25
    ours, plain = [], []
    for html, url, body in pages:
        plain.append(token_f1(trafilatura.extract(html) or "", body))
        try:
            text = extract_page(html, url).text
        except ExtractError:
            text = ""
        ours.append(token_f1(text, body))
    mean_ours, mean_plain = sum(ours) / len(ours), sum(plain) / len(plain)
    assert mean_ours >= mean_plain - TOLERANCE, (mean_ours, mean_plain)
    assert mean_ours > 0.9
