"""The ``email`` channel: one SMTP conversation per digest (aiosmtplib).

``tls``: ``starttls`` upgrades a plain connection and fails if the server cannot,
``implicit`` is TLS from the first byte, ``none`` is for a local relay. Certificates are
verified against the system's trust store. The envelope goes to exactly the configured
recipients, whatever the headers say.

Outcome: the server's 250 after DATA is the acknowledgement (a failure of the closing QUIT
does not matter). SMTP 4xx replies, lost connections and timeouts are transient; 5xx replies,
TLS certificate failures and a server lacking STARTTLS or AUTH are permanent. If the server
accepts some recipients and refuses others, the message went out to the accepted ones and
is not retried: the refusal is reported as permanent, naming the refused addresses.
"""

from __future__ import annotations

import asyncio
import ssl
from email.utils import parseaddr

import aiosmtplib

from monitor.channels.base import ChannelDeps, Message, register
from monitor.channels.mime import build_email
from monitor.config import schema
from monitor.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

QUIT_TIMEOUT = 5.0


def _reply(code: int, text: str) -> str:
    return f"SMTP {code} {' '.join(text.split())[:200]}"


def _abort(client: aiosmtplib.SMTP) -> None:
    """Drop the connection now (a polite TLS close could outlive the event loop)."""
    if isinstance(client.transport, asyncio.Transport):
        client.transport.abort()
    client.close()


class EmailChannel:
    """Sends each message to the configured recipients over SMTP."""

    def __init__(
        self, name: str, config: schema.EmailChannel, *, tls_context: ssl.SSLContext | None = None
    ) -> None:
        """``tls_context`` replaces the default verifying context (tests, private CAs)."""
        self.name = name
        self.config = config
        self._tls_context = tls_context

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            timeout=c.timeout.total_seconds(),
            use_tls=c.tls == "implicit",
            start_tls=c.tls == "starttls",
            tls_context=self._tls_context,
        )

    async def send(self, message: Message, key: str) -> None:
        c = self.config
        mail = build_email(
            message, key, sender=c.from_, recipients=c.to, list_unsubscribe=c.list_unsubscribe
        )
        client = self._client()
        try:
            async with asyncio.timeout(c.timeout.total_seconds()):
                await client.connect()
                if c.username:
                    password = c.password.get_secret_value() if c.password else ""
                    await client.login(c.username, password)
                refused, _ = await client.send_message(
                    mail, sender=parseaddr(c.from_)[1], recipients=list(c.to)
                )
        except Exception as exc:
            _abort(client)
            mapped = self._mapped(exc)
            if mapped is None:
                raise
            raise mapped from exc
        except BaseException:
            _abort(client)
            raise
        try:
            async with asyncio.timeout(QUIT_TIMEOUT):
                await client.quit()
        except Exception:  # the message is delivered; how the goodbye went does not matter
            _abort(client)
        if refused:
            detail = "; ".join(
                f"{addr}: {_reply(r.code, r.message)}" for addr, r in refused.items()
            )
            accepted = len(c.to) - len(refused)
            raise PermanentDeliveryError(
                self.name, f"sent to {accepted} of {len(c.to)} recipients; refused {detail}"
            )

    def _mapped(self, exc: Exception) -> DeliveryError | None:
        """The delivery error for an exception of the SMTP conversation (None: a bug)."""
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(
                f"{r.recipient}: {_reply(r.code, r.message)}" for r in exc.recipients
            )
            if all(400 <= code < 500 for code in codes):
                return TransientDeliveryError(self.name, f"recipients deferred: {detail}")
            return PermanentDeliveryError(self.name, f"recipients refused: {detail}")
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            reason = _reply(exc.code, exc.message)
            if 400 <= exc.code < 500:
                return TransientDeliveryError(self.name, reason)
            return PermanentDeliveryError(self.name, reason)
        if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(
            exc.__cause__, ssl.SSLCertVerificationError
        ):
            return PermanentDeliveryError(self.name, f"TLS certificate not trusted: {exc}")
        if isinstance(exc, (TimeoutError, aiosmtplib.SMTPTimeoutError)):
            return TransientDeliveryError(self.name, f"timed out: {exc or 'no reply'}")
        if isinstance(exc, (ConnectionError, OSError)):
            return TransientDeliveryError(self.name, f"connection failed: {exc}")
        if isinstance(exc, aiosmtplib.SMTPException):
            return PermanentDeliveryError(self.name, str(exc))
        return None


@register("email")
def _create(name: str, config: schema.EmailChannel, deps: ChannelDeps) -> EmailChannel:
    return EmailChannel(name, config)
