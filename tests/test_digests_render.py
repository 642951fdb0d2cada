"""Rendering: escaping, safe links, highlights, time zone, caps line, subject, round trip."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from monitor.digests.view import safe_url
from monitor.model import Message
from tests.digestkit import entry, message_for

SCRIPT_TITLE = '<script>alert("pwned")</script> Hamas & co'
BODY = "Officials said Hamas leaders met in Damascus on Monday."


def hostile_message() -> Message:
    return message_for(
        [
            entry(
                1,
                SCRIPT_TITLE,
                BODY,
                url="javascript:alert(document.cookie)",
                terms=["hamas", "damascus"],
            )
        ]
    )


def test_html_autoescapes_article_text_and_drops_javascript_links() -> None:
    html = hostile_message().html
    assert "<script" not in html.lower()
    assert '&lt;script&gt;alert("pwned")&lt;/script&gt; Hamas &amp; co' in html
    assert "javascript:" not in html.lower()
    assert not re.search(r"href=\"(?!https?://)", html)


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.org/a?b=1&c=2", True),
        ("http://example.org/", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("java\tscript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("//evil.example/path", False),
        ("https://", False),
        ("", False),
    ],
)
def test_only_http_links_survive(url: str, safe: bool) -> None:
    assert (safe_url(url) is not None) is safe


def test_snippets_highlight_the_terms_in_every_format() -> None:
    message = message_for([entry(1, "Hamas in Damascus", BODY, terms=["hamas", "damascus"])])
    assert re.search(
        r"<mark[^>]*>Hamas</mark> leaders met in <mark[^>]*>Damascus</mark>", message.html
    )
    assert "*Hamas* leaders met in *Damascus*" in message.text
    story = message.payload["data"]["groups"][0]["stories"][0]
    [snippet] = story["snippets"]
    assert [snippet["text"][s:e] for s, e in snippet["highlights"]] == ["Hamas", "Damascus"]
    slack = json.dumps(message.slack, ensure_ascii=False)
    assert "*Hamas* leaders met in *Damascus*" in slack


def test_css_is_inlined_and_phone_rules_kept() -> None:
    html = hostile_message().html
    assert 'style="' in html
    assert "<link" not in html
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(styles) == 1
    assert "@media" in styles[0]
    assert 'name="viewport"' in html


def test_times_show_in_the_digest_time_zone() -> None:
    published = datetime(2023, 10, 9, 23, 30, tzinfo=UTC)
    message = message_for(
        [entry(1, "Night story", BODY, published=published)], timezone="Asia/Tokyo"
    )
    assert "Tue 10 Oct 2023 08:30 JST" in message.text
    assert "Tue 10 Oct 2023 08:30 JST" in message.html
    story = message.payload["data"]["groups"][0]["stories"][0]
    assert story["published"] == "2023-10-10T08:30:00+09:00"


def test_the_cap_line_appears_everywhere() -> None:
    entries = [entry(i, f"Distinct story {i}", f"Body {i} " * 4) for i in range(1, 8)]
    message = message_for(entries, max_stories=3)
    assert "and 4 more stories" in message.text
    assert "and 4 more stories" in message.html
    assert "and 4 more stories" in json.dumps(message.slack)
    assert message.payload["data"]["more"] == 4
    assert message.subject.startswith("daily: 7 stories")


def test_control_characters_never_reach_the_output() -> None:
    title = "Red\x1b[31m alert\x07 \u202eevil\u202c Hamas\r\nBcc: x@example.org"
    message = message_for([entry(1, title, BODY + "\x00\x1b[2J")], title="Desk\ndaily")
    for text in (message.subject, message.text, message.html, json.dumps(message.payload)):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e]", text)
    assert (
        message.subject == "Desk daily: Red[31m alert evil Hamas Bcc: x@example.org · 10 Oct 2023"
    )


def test_subjects() -> None:
    one = message_for([entry(1, "Hamas officials visit Damascus", BODY)], title="Urgent")
    assert one.subject == "Urgent: Hamas officials visit Damascus · 10 Oct 2023"
    empty = message_for([], send_empty=True)
    assert empty.subject == "daily: no new stories · 10 Oct 2023"
    assert "No new stories" in empty.text
    assert "No new stories" in empty.html
    long = message_for([entry(1, "Hamas " + "very " * 100 + "long", BODY)])
    assert len(long.subject) <= 200
    assert long.subject.endswith("…")


def test_message_survives_the_outbox_as_json() -> None:
    message = hostile_message()
    again = Message.from_json(json.loads(json.dumps(message.to_json())))
    assert again == message
