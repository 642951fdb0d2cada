"""canonicalize_url and host_of, table-driven."""

from __future__ import annotations

import pytest

from monitor.urls import canonicalize_url, host_of


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        # Case, default ports, empty path, fragments.
        ("HTTPS://WWW.Example.ORG/News/Story", "https://www.example.org/News/Story"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("http://example.org:443/a", "http://example.org:443/a"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org./a", "https://example.org/a"),
        ("https://example.org/a#comments", "https://example.org/a"),
        ("https://example.org/#!/story/42", "https://example.org/#!/story/42"),
        ("  https://example.org/a  ", "https://example.org/a"),
        # Tracking parameters go, the rest are sorted, values untouched.
        (
            "https://example.org/a?utm_source=rss&utm_medium=feed&id=7&UTM_Campaign=x",
            "https://example.org/a?id=7",
        ),
        ("https://example.org/a?b=2&a=1&fbclid=XYZ", "https://example.org/a?a=1&b=2"),
        ("https://example.org/a?gclid=1&dclid=2&msclkid=3&yclid=4", "https://example.org/a"),
        (
            "https://example.org/a?mc_cid=1&mc_eid=2&igshid=3&_hsenc=4&_hsmi=5",
            "https://example.org/a",
        ),
        ("https://example.org/a?ref_src=twsrc&cmpid=rss&ocid=msn", "https://example.org/a"),
        (
            "https://www.bbc.co.uk/news/x?at_medium=RSS&at_campaign=KARANGA&at_custom1=a",
            "https://www.bbc.co.uk/news/x",
        ),
        (
            "https://example.org/a?q=gaza%20ceasefire&p=2",
            "https://example.org/a?p=2&q=gaza%20ceasefire",
        ),
        ("https://example.org/a?q=a+b&x=", "https://example.org/a?q=a+b&x="),
        ("https://example.org/a?&&utm_term=z&", "https://example.org/a"),
        (
            "https://www.aljazeera.com/news/2026/2/18/story?traffic_source=rss",
            "https://www.aljazeera.com/news/2026/2/18/story?traffic_source=rss",
        ),
        # The path is kept byte for byte.
        ("https://example.org/A/b/../C%2Fd/", "https://example.org/A/b/../C%2Fd/"),
        # IPv6 and user info.
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
        ("https://user:pw@Example.org/x", "https://user:pw@example.org/x"),
        # Not absolute http(s): only stripped.
        ("mailto:Desk@Example.org", "mailto:Desk@Example.org"),
        ("/relative/path?utm_source=x", "/relative/path?utm_source=x"),
        ("https://example.org:99999/x", "https://example.org:99999/x"),
        ("", ""),
    ],
)
def test_canonicalize_url(url: str, canonical: str) -> None:
    assert canonicalize_url(url) == canonical


def test_canonical_form_is_stable() -> None:
    url = "HTTP://Example.org:80/a?z=1&utm_source=x&a=2#top"
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once == "http://example.org/a?a=2&z=1"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://WWW.Example.org:8080/a", "www.example.org"),
        ("https://example.org./", "example.org"),
        ("http://[::1]:8000/", "[::1]"),
        ("/just/a/path", ""),
        ("not a url", ""),
        ("http://[broken/", ""),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host
