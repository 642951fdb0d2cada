"""Render a built digest into the ``Message`` every channel takes (pure).

The e-mail subject and bodies come from the Jinja2 templates (``monitor.digests.templates``);
Slack blocks (``monitor.digests.blocks``) and the webhook document
(``monitor.digests.payload``) are built in code because their shape and limits are contracts.
The subject is collapsed to one line and capped, whatever the template wrote.
"""

from __future__ import annotations

from monitor.digests.blocks import slack_messages
from monitor.digests.build import BuiltDigest
from monitor.digests.payload import webhook_payload
from monitor.digests.templates import SUBJECT, TEXT, Templates
from monitor.digests.view import digest_view, one_line
from monitor.model import Message

MAX_SUBJECT = 200


def subject_line(text: str) -> str:
    """``text`` as a subject: one line, no control characters, at most ``MAX_SUBJECT``."""
    line = one_line(text)
    return line if len(line) <= MAX_SUBJECT else line[: MAX_SUBJECT - 1].rstrip() + "…"


def render_message(built: BuiltDigest, templates: Templates) -> Message:
    """The message for ``built``; raises ``TemplateProblem`` if a template fails."""
    view = digest_view(built)
    return Message(
        digest=built.name,
        subject=subject_line(templates.render(SUBJECT, view)) or view.title,
        text=templates.render(TEXT, view),
        html=templates.render_html(view),
        slack=slack_messages(view),
        payload=webhook_payload(view),
        created=built.created,
        stories=built.story_count,
    )
