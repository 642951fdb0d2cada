"""Reading a response body under a byte cap, decompressing with bounded output.

The raw bytes on the wire are counted as they arrive, and so are the decoded bytes: each
zlib call is told how much output it may produce (``max_length``), so a small gzip bomb
is refused after at most ``cap + 1`` decoded bytes instead of being inflated in memory.
Only gzip and deflate are asked for and understood.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The raw or decoded body passed the cap."""

    def __init__(self, cap: int, what: str) -> None:
        self.cap = cap
        super().__init__(f"{what} body exceeds the cap of {cap} bytes")


class BadEncoding(Exception):
    """Unknown Content-Encoding or corrupt compressed data."""


class _Inflater:
    """One gzip or deflate layer; multi-member gzip is followed.

    "deflate" is meant to be zlib-wrapped but is often sent raw; the first two bytes
    (a zlib header or not) decide.
    """

    def __init__(self, coding: str) -> None:
        self._gzip = coding in ("gzip", "x-gzip")
        self._wbits = 16 + zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits) if self._gzip else None
        self._head = b""

    def _start_deflate(self, data: bytes) -> bytes:
        self._head += data
        if len(self._head) < 2:
            return b""
        cmf, flg = self._head[0], self._head[1]
        wrapped = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
        self._wbits = zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        return self._head

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode ``data``; returns at most ``limit + 1`` bytes (more than limit = over cap)."""
        if self._obj is None:
            data = self._start_deflate(data)
        out = bytearray()
        while self._obj is not None and data and len(out) <= limit:
            if self._obj.eof:
                if not (self._gzip and data.startswith(b"\x1f\x8b")):
                    break  # bytes after the stream that start no gzip member are ignored
                self._obj = zlib.decompressobj(self._wbits)
            try:
                out += self._obj.decompress(data, limit + 1 - len(out))
            except zlib.error as exc:
                raise BadEncoding(f"corrupt compressed body: {exc}") from exc
            data = self._obj.unconsumed_tail or self._obj.unused_data
        return bytes(out)


def decoders(content_encoding: str) -> list[_Inflater]:
    """Decoders to apply in order for a Content-Encoding header; ``BadEncoding`` if unknown."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    layers: list[_Inflater] = []
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise BadEncoding(f"unsupported Content-Encoding {coding!r}")
        layers.append(_Inflater(coding))
    return layers


async def read_capped(raw: AsyncIterator[bytes], content_encoding: str, cap: int) -> bytes:
    """Read ``raw`` (bytes as on the wire) and return the decoded body, at most ``cap`` bytes.

    Raises ``BodyTooLarge`` as soon as either the raw or the decoded size passes ``cap``.
    """
    layers = decoders(content_encoding)
    body = bytearray()
    received = 0
    async for chunk in raw:
        received += len(chunk)
        if received > cap:
            raise BodyTooLarge(cap, "raw")
        data = chunk
        for layer in layers:
            data = layer.feed(data, cap - len(body))
            if len(body) + len(data) > cap:
                raise BodyTooLarge(cap, "decoded")
        body += data
    return bytes(body)
