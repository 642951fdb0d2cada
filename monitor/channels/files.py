"""The ``file`` channel (the embedded default): each digest as ``.eml``, ``.html``, ``.json``.

Files go into the configured folder (created if missing), named after the idempotency key:
``{key as a safe slug}-{sha256(key)[:10]}``, so a retry overwrites the same three files.
Each file is written whole to a temporary file in the same folder, flushed to disk and
moved into place with ``os.replace``: a reader sees the old file or the new one, never half.
The ``.eml`` is the e-mail the ``email`` channel would send (open it in any mail client),
the ``.html`` its HTML body and the ``.json`` the webhook payload.

A missing permission or a path that is not a folder is permanent; other OS errors (disk
full, I/O) are transient.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from monitor.channels.base import ChannelDeps, Message, register
from monitor.channels.mime import build_email
from monitor.config import schema
from monitor.errors import PermanentDeliveryError, TransientDeliveryError

SENDER = "monitor <monitor@localhost>"
RECIPIENTS = ("undisclosed-recipients:;",)
_PERMANENT_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.EROFS}
)


def file_stem(key: str) -> str:
    """A safe file name for ``key``: readable slug plus a short hash against collisions."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", key).strip("-.")[:80] or "digest"
    return f"{slug}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:10]}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class FileChannel:
    """Writes each digest into a folder."""

    def __init__(self, name: str, config: schema.FileChannel) -> None:
        self.name = name
        self.folder = Path(config.path).expanduser()

    def paths(self, key: str) -> dict[str, Path]:
        """The files written for ``key``, by suffix."""
        stem = file_stem(key)
        return {s: self.folder / f"{stem}.{s}" for s in ("eml", "html", "json")}

    async def send(self, message: Message, key: str) -> None:
        try:
            await asyncio.to_thread(self._write, message, key)
        except OSError as exc:
            reason = f"{exc.filename or self.folder}: {exc.strerror or exc}"
            if exc.errno in _PERMANENT_ERRNOS:
                raise PermanentDeliveryError(self.name, reason) from exc
            raise TransientDeliveryError(self.name, reason) from exc

    def _write(self, message: Message, key: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        paths = self.paths(key)
        mail = build_email(message, key, sender=SENDER, recipients=RECIPIENTS)
        payload = json.dumps(message.payload, ensure_ascii=False, indent=2) + "\n"
        write_atomic(paths["eml"], mail.as_bytes())
        write_atomic(paths["html"], message.html.encode("utf-8"))
        write_atomic(paths["json"], payload.encode("utf-8"))


@register("file")
def _create(name: str, config: schema.FileChannel, deps: ChannelDeps) -> FileChannel:
    return FileChannel(name, config)
