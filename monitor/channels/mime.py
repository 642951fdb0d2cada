"""The MIME form of a digest, shared by the e-mail and file channels.

multipart/alternative (plain text, then HTML), UTF-8, quoted-printable. ``Message-ID`` is
derived from the idempotency key, ``Date`` is when the digest was built and the MIME boundary
is derived from the key too, so every attempt sends the same bytes and a receiving system can
de-duplicate them.

Headers never carry article text as given: ``header_text`` removes control characters (a
title with ``\\r\\nBcc: ...`` stays inside the Subject) and breaks ``=?`` so no RFC 2047
encoded word in a title is decoded; Python's own header parser would otherwise decode
``=?utf-8?q?=0D=0ABcc:...?=`` into a line break and a new header.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from monitor.model import Message

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_SPACE = re.compile(r"\s+")
MAX_HEADER = 250


def header_text(text: str) -> str:
    """``text`` safe as an unstructured header value: one line, no encoded words."""
    line = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip().replace("=?", "= ?")
    return line if len(line) <= MAX_HEADER else line[: MAX_HEADER - 1].rstrip() + "…"


def address_domain(address: str) -> str:
    """The domain of an address such as ``Monitor <monitor@example.org>`` (or localhost)."""
    _, addr = parseaddr(address)
    domain = addr.rpartition("@")[2].strip().lower()
    return re.sub(r"[^a-z0-9.-]", "", domain) or "localhost"


def message_id(key: str, sender: str) -> str:
    """``<{sha256(key)[:32]}@monitor.{sender's domain}>``: the same for every attempt."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@monitor.{address_domain(sender)}>"


def build_email(
    message: Message,
    key: str,
    *,
    sender: str,
    recipients: Sequence[str],
    list_unsubscribe: str | None = None,
) -> EmailMessage:
    """The e-mail for ``message``; ``sender`` and ``recipients`` come from the config."""
    mail = EmailMessage(policy=policy.SMTP)
    mail["Subject"] = header_text(message.subject)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(message.created)
    mail["Message-ID"] = message_id(key, sender)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Monitor-Digest"] = header_text(message.digest)
    if list_unsubscribe:
        value = header_text(list_unsubscribe).strip("<>")
        mail["List-Unsubscribe"] = f"<{value}>"
    mail.set_content(message.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    mail.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
    # "=" never occurs in quoted-printable text, so this boundary cannot collide with a body.
    mail.set_boundary("=_monitor_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[32:56])
    return mail
