"""Request headers as sent and response headers as returned by ``HttpClient``."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterable, Mapping

import httpx


def request_headers(
    target: httpx.URL,
    defaults: Mapping[str, tuple[str, str]],
    headers: Mapping[str, str],
    content: bytes | None,
) -> list[tuple[bytes, bytes]]:
    """Host, then ``defaults`` (by lower-case name), Basic credentials from the URL, and the
    caller's ``headers``, which win; a body gets its Content-Length."""
    merged = dict(defaults)
    if target.username or target.password:
        token = b64encode(f"{target.username}:{target.password}".encode()).decode()
        merged["authorization"] = ("Authorization", f"Basic {token}")
    merged.update((k.lower(), (k, v)) for k, v in headers.items())
    if content is not None:
        merged["content-length"] = ("Content-Length", str(len(content)))
    merged.pop("host", None)
    pairs = [(b"Host", target.netloc)]
    pairs += [(k.encode("latin-1"), v.encode("utf-8")) for k, v in merged.values()]
    return pairs


def response_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Headers by lower-case name, repeated ones joined with ", " (as httpx does); decoded as
    ASCII, else UTF-8, else Latin-1, for the whole set."""
    for encoding in ("ascii", "utf-8"):
        try:
            return _joined((k.decode(encoding), v.decode(encoding)) for k, v in raw)
        except UnicodeDecodeError:
            continue
    return _joined((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        name = key.lower()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out
