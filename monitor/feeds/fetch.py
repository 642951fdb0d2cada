"""Fetching one feed with a conditional GET (edge).

A 304 costs no parsing; neither does a 200 whose body hashes the same as the last one.
Status errors, timeouts and guard refusals propagate as ``monitor.errors.FetchError``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

from monitor.http import HttpClient
from monitor.model import HttpResponse

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


class FetchStatus(Enum):
    NOT_MODIFIED = "not_modified"  # 304
    UNCHANGED = "unchanged"  # 200, but byte-identical to the last body
    FETCHED = "fetched"  # new bytes to parse


@dataclass(frozen=True)
class FeedFetch:
    status: FetchStatus
    response: HttpResponse
    body_hash: str | None
    etag: str | None
    last_modified: str | None

    @property
    def permanent_url(self) -> str | None:
        return self.response.permanent_url


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def fetch_feed(
    client: HttpClient,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    last_body_hash: str | None,
    max_bytes: int,
) -> FeedFetch:
    """GET ``url`` conditionally; say whether there is anything new to parse."""
    headers = {"Accept": FEED_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    response = await client.get(url, max_bytes=max_bytes, headers=headers)
    if response.status == 304:
        return FeedFetch(FetchStatus.NOT_MODIFIED, response, last_body_hash, etag, last_modified)
    new_etag = response.headers.get("etag") or None
    new_lm = response.headers.get("last-modified") or None
    digest = body_digest(response.body)
    status = FetchStatus.UNCHANGED if digest == last_body_hash else FetchStatus.FETCHED
    return FeedFetch(status, response, digest, new_etag, new_lm)
