"""The e-mail channel against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.channels.email import EmailChannel
from monitor.config import schema
from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.model import Message
from tests.digestkit import NOW, entry, message_for, simple_message
from tests.receivers import HOST, Authority, SmtpReceiver, make_ca

KEY = "digest:daily:2023-10-10T07:00:00+00:00:team-mail"
RECIPIENTS = ["desk@example.org", "night@example.org"]


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpReceiver]:
    with SmtpReceiver(tmpdir=str(tmp_path)) as receiver:
        yield receiver


def channel(receiver: SmtpReceiver, *, trust: bool = True, **values: Any) -> EmailChannel:
    config = schema.EmailChannel.model_validate(
        {
            "type": "email",
            "host": HOST,
            "port": receiver.port,
            "tls": receiver.tls,
            "from": "Monitor <monitor@example.org>",
            "to": RECIPIENTS,
            "timeout": "5s",
            **values,
        }
    )
    return EmailChannel(
        "team-mail", config, tls_context=receiver.client_context() if trust else None
    )


def send(ch: EmailChannel, message: Message | None = None, key: str = KEY) -> None:
    asyncio.run(ch.send(message or simple_message(), key))


def test_delivers_multipart_mail_with_key_derived_headers(smtp: SmtpReceiver) -> None:
    message = simple_message()
    send(channel(smtp, list_unsubscribe="mailto:desk-admin@example.org"), message)

    [got] = smtp.messages
    assert got.mail_from == "monitor@example.org"
    assert got.rcpt_tos == tuple(RECIPIENTS)
    mail = got.message
    assert mail["Subject"] == message.subject
    assert mail["From"] == "Monitor <monitor@example.org>"
    expected_id = hashlib.sha256(KEY.encode()).hexdigest()[:32]
    assert mail["Message-ID"] == f"<{expected_id}@monitor.example.org>"
    assert parsedate_to_datetime(mail["Date"]) == NOW
    assert mail["List-Unsubscribe"] == "<mailto:desk-admin@example.org>"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "Hamas officials visit Damascus" in text.get_content()
    assert "<mark" in html.get_content()


def test_a_retry_sends_the_same_message(smtp: SmtpReceiver) -> None:
    ch = channel(smtp)
    send(ch)
    send(ch)
    first, second = (m.message for m in smtp.messages)
    for header in ("Message-ID", "Date", "Subject"):
        assert first[header] == second[header]
    assert smtp.messages[0].data == smtp.messages[1].data


@pytest.mark.parametrize(
    "title",
    [
        "Breaking\r\nBcc: evil@attacker.example",
        "Breaking\nBcc: evil@attacker.example\n\nInjected body",
        "Breaking =?utf-8?q?x=0D=0ABcc:_evil@attacker.example?=",
        "Breaking =?utf-8?b?DQpCY2M6IGV2aWxAYXR0YWNrZXIuZXhhbXBsZQ==?=",
    ],
)
def test_a_title_cannot_inject_headers(smtp: SmtpReceiver, title: str) -> None:
    message = message_for([entry(1, title, "Hamas officials visited Damascus.")])

    send(channel(smtp), message)

    [got] = smtp.messages
    assert got.rcpt_tos == tuple(RECIPIENTS)
    mail = got.message
    assert mail["Bcc"] is None
    assert "evil@attacker.example" not in " ".join(got.rcpt_tos)
    subject = str(mail["Subject"])
    assert "\n" not in subject
    assert "\r" not in subject
    assert subject.startswith("daily: Breaking")
    assert "Injected body" not in (mail.get_body(("plain",)) or mail).get_content().split("\n")[0]


def test_starttls_with_auth(tmp_path: Path, ca: Authority) -> None:
    with SmtpReceiver(
        tls="starttls", users={"desk": "s3cret"}, ca=ca, tmpdir=str(tmp_path)
    ) as smtp:
        send(channel(smtp, username="desk", password="s3cret"))
    [got] = smtp.messages
    assert got.tls
    assert got.login == "desk"


def test_implicit_tls_with_auth(tmp_path: Path, ca: Authority) -> None:
    with SmtpReceiver(
        tls="implicit", users={"desk": "s3cret"}, ca=ca, tmpdir=str(tmp_path)
    ) as smtp:
        send(channel(smtp, port=smtp.port, username="desk", password="s3cret"))
    [got] = smtp.messages
    assert got.tls
    assert got.login == "desk"


def test_wrong_password_is_permanent(tmp_path: Path, ca: Authority) -> None:
    with (
        SmtpReceiver(tls="starttls", users={"desk": "s3cret"}, ca=ca, tmpdir=str(tmp_path)) as smtp,
        pytest.raises(PermanentDeliveryError, match="535"),
    ):
        send(channel(smtp, username="desk", password="wrong"))
    assert smtp.messages == []


def test_untrusted_certificate_is_permanent(tmp_path: Path, ca: Authority) -> None:
    with (
        SmtpReceiver(tls="starttls", ca=ca, tmpdir=str(tmp_path)) as smtp,
        pytest.raises(PermanentDeliveryError, match="certificate"),
    ):
        send(channel(smtp, trust=False))
    assert smtp.messages == []


def test_starttls_required_but_not_offered_is_permanent(smtp: SmtpReceiver) -> None:
    with pytest.raises(PermanentDeliveryError, match="STARTTLS"):
        send(channel(smtp, tls="starttls"))
    assert smtp.messages == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("421 4.3.2 Service shutting down", TransientDeliveryError),
        ("451 4.3.0 Try again later", TransientDeliveryError),
        ("550 5.7.1 Message rejected as spam", PermanentDeliveryError),
    ],
)
def test_data_replies(smtp: SmtpReceiver, reply: str, error: type[Exception]) -> None:
    smtp.data_replies.append(reply)
    with pytest.raises(error, match=reply.split(maxsplit=1)[0]):
        send(channel(smtp))
    assert smtp.messages == []
    send(channel(smtp))  # the next attempt goes through
    assert len(smtp.messages) == 1


def test_connection_dropped_after_data_is_transient(smtp: SmtpReceiver) -> None:
    smtp.drop_after_data = True
    with pytest.raises(TransientDeliveryError):
        send(channel(smtp))
    assert smtp.data_attempts == 1


def test_one_refused_recipient_is_reported_not_retried(smtp: SmtpReceiver) -> None:
    smtp.refuse["night@example.org"] = "550 5.1.1 No such user"
    with pytest.raises(PermanentDeliveryError, match=r"sent to 1 of 2 .*night@example.org"):
        send(channel(smtp))
    [got] = smtp.messages
    assert got.rcpt_tos == ("desk@example.org",)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("450 4.2.1 Mailbox busy", TransientDeliveryError),
        ("550 5.1.1 No such user", PermanentDeliveryError),
    ],
)
def test_all_recipients_refused(smtp: SmtpReceiver, reply: str, error: type[Exception]) -> None:
    smtp.refuse.update(dict.fromkeys(RECIPIENTS, reply))
    with pytest.raises(error):
        send(channel(smtp))
    assert smtp.messages == []


def test_connection_refused_is_transient() -> None:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        config = schema.EmailChannel.model_validate(
            {
                "type": "email",
                "host": HOST,
                "port": port,
                "tls": "none",
                "from": "monitor@example.org",
                "to": ["desk@example.org"],
            }
        )
        with pytest.raises(TransientDeliveryError, match="connect"):
            send(EmailChannel("team-mail", config))


def test_a_server_that_never_answers_times_out_as_transient() -> None:
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen()  # accepts into the backlog, never greets
        config = schema.EmailChannel.model_validate(
            {
                "type": "email",
                "host": HOST,
                "port": s.getsockname()[1],
                "tls": "none",
                "from": "monitor@example.org",
                "to": ["desk@example.org"],
                "timeout": "300ms",
            }
        )
        with pytest.raises(TransientDeliveryError, match="timed out"):
            send(EmailChannel("team-mail", config))
