"""Real receivers on loopback for channel tests: an SMTP server and scripted HTTP handlers.

``SmtpReceiver`` is aiosmtpd on 127.0.0.1 (a free port picked first: its Controller cannot
take port 0) with optional STARTTLS or implicit TLS (a throwaway CA made with
``cryptography``), optional AUTH, and scripted trouble::

    with SmtpReceiver(tls="starttls", users={"desk": "s3cret"}) as smtp:
        smtp.data_replies.append("451 4.3.0 try again later")  # answers the next DATA
        smtp.drop_after_data = True                            # or hang up after DATA
        ...
        smtp.messages[0].message["Subject"], smtp.messages[0].rcpt_tos

``Scripted`` is a ``tests.farm`` handler that answers from a list of replies (the last one
repeats) and records what it got; ``make_ca`` gives server and client TLS contexts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.farm import Reply, Request

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Authority:
    """A CA and a server certificate for 127.0.0.1/localhost, as PEM."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def server_context(self, tmp_files: tuple[str, str]) -> ssl.SSLContext:
        cert_path, key_path = tmp_files
        with open(cert_path, "wb") as f:
            f.write(self.cert_pem)
        with open(key_path, "wb") as f:
            f.write(self.key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())


def make_ca() -> Authority:
    """A fresh CA and a server certificate signed by it (EC P-256: quick to make)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "monitor test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Authority(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        r = self.receiver
        with r.lock:
            r.data_attempts += 1
            if r.drop_after_data:
                assert isinstance(server.transport, asyncio.Transport)
                server.transport.abort()
                return "250 OK"
            if r.data_replies:
                return r.data_replies.pop(0)
            auth = session.auth_data if session.authenticated else None
            r.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=bytes(envelope.original_content or b""),
                    tls=server.transport is not None
                    and server.transport.get_extra_info("ssl_object") is not None,
                    login=auth.login.decode() if auth is not None else None,
                )
            )
        return "250 Message accepted for delivery"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.receiver.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"


@dataclass
class SmtpReceiver:
    """aiosmtpd on 127.0.0.1 with optional TLS and AUTH, and scripted replies."""

    tls: Literal["none", "starttls", "implicit"] = "none"
    users: dict[str, str] | None = None
    ca: Authority | None = None
    tmpdir: str = "/tmp"
    messages: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    drop_after_data: bool = False
    data_attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if self.tls != "none":
            self.ca = self.ca or make_ca()
            files = (f"{self.tmpdir}/smtp-cert.pem", f"{self.tmpdir}/smtp-key.pem")
            context = self.ca.server_context(files)
            if self.tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if self.users is not None:
            users = self.users
            # aiosmtpd offers AUTH under implicit TLS only when not "requiring TLS" (it looks
            # for a STARTTLS upgrade), and warns when AUTH is required without that.
            kwargs.update(
                auth_required=self.tls == "starttls",
                auth_require_tls=self.tls == "starttls",
                auth_callback=lambda _mech, login, password: (
                    users.get(login.decode()) == password.decode()
                ),
            )
        self._controller = Controller(
            _Handler(self), hostname=HOST, port=self.port, ready_timeout=10, **kwargs
        )

    def client_context(self) -> ssl.SSLContext | None:
        return self.ca.client_context() if self.ca else None

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()


class Scripted:
    """A farm handler answering from ``replies`` in turn (the last repeats); records requests."""

    def __init__(self, replies: Iterable[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[Request] = []
        self.times: list[float] = []  # time.monotonic() of each request
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            self.times.append(time.monotonic())
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
