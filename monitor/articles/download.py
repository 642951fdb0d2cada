"""Downloading one article page through the shared HTTP client (edge)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from monitor.errors import FetchError
from monitor.http import HttpClient

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


@dataclass(frozen=True)
class Page:
    """A downloaded page: its final URL, bytes, and the charset the server declared."""

    url: str
    body: bytes
    charset: str | None


def content_type(header: str) -> tuple[str, str | None]:
    """``"text/html; charset=UTF-8"`` → ``("text/html", "utf-8")``."""
    msg = Message()
    msg["content-type"] = header
    charset = msg.get_param("charset")
    return msg.get_content_type() if header else "", (
        str(charset).strip().lower() if isinstance(charset, str) and charset.strip() else None
    )


async def download_page(client: HttpClient, url: str, *, max_bytes: int) -> Page:
    """Fetch an HTML page; a response of another media type is a FetchError."""
    response = await client.get(url, max_bytes=max_bytes, headers={"Accept": PAGE_ACCEPT})
    media, charset = content_type(response.headers.get("content-type", ""))
    if media not in _HTML_TYPES:
        raise FetchError(response.url, f"not an HTML page (Content-Type {media})")
    return Page(response.url, response.body, charset)
