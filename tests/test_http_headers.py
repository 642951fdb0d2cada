"""Headers as HttpClient sends and returns them."""

from __future__ import annotations

import httpx

from monitor.http.headers import request_headers, response_headers

DEFAULTS = {"accept": ("Accept", "*/*"), "user-agent": ("User-Agent", "monitor/1")}


def test_request_headers_host_first_defaults_then_the_callers() -> None:
    url = httpx.URL("http://user:p%40ss@example.org:8080/feed")
    sent = request_headers(url, DEFAULTS, {"ACCEPT": "application/rss+xml", "Host": "evil"}, b"x")
    assert sent == [
        (b"Host", b"example.org:8080"),
        (b"ACCEPT", b"application/rss+xml"),
        (b"User-Agent", b"monitor/1"),
        (b"Authorization", b"Basic dXNlcjpwQHNz"),  # user:p@ss
        (b"Content-Length", b"1"),
    ]
    assert request_headers(httpx.URL("https://example.org/"), {}, {}, None) == [
        (b"Host", b"example.org")
    ]


def test_response_headers_lower_case_and_repeated_ones_joined() -> None:
    raw = [(b"ETag", b'"a"'), (b"Vary", b"Accept"), (b"vary", b"Cookie")]
    assert response_headers(raw) == {"etag": '"a"', "vary": "Accept, Cookie"}
    assert response_headers([(b"X-Name", "Zürich".encode())]) == {"x-name": "Zürich"}
    assert response_headers([(b"X-Name", b"Z\xfcrich")]) == {"x-name": "Zürich"}  # Latin-1
