"""Slack Block Kit messages for a digest (pure; built in Python, not a template).

Slack's limits are part of the contract, so they live in code: at most ``MAX_BLOCKS`` blocks a
message (a long digest becomes several messages, each continuation saying so), at most
``MAX_SECTION`` characters in a section's text (a story sheds its sources, then its snippet,
before its text is cut) and ``MAX_HEADER`` in a header.

Article text is escaped as Slack asks (``&``, ``<``, ``>`` become entities), which also
defuses ``<!channel>``, ``<@U123>`` and forged ``<url|text>`` links; a word joiner after every
``@`` keeps ``@here``/``@channel`` typed as plain text from notifying anyone, and every mrkdwn
text is ``verbatim`` (Slack adds no links or mentions of its own). Only http(s) links are
made. The sending channel puts the idempotency key in the first block's ``block_id``; the
builder leaves it out.
"""

from __future__ import annotations

from typing import Any

from monitor.digests.view import DigestView, SnippetView, StoryView

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_SNIPPET = 500  # raw characters of snippet text per story
MAX_SOURCES = 8
MAX_TERMS = 12
WORD_JOINER = "\u2060"

Block = dict[str, Any]


def escape(text: str) -> str:
    """``text`` safe inside Slack mrkdwn or plain_text: entities and defused mentions."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("@", "@" + WORD_JOINER)


def link(url: str | None, text: str) -> str:
    """A mrkdwn link ``<url|text>`` (text alone when there is no safe URL)."""
    label = escape(text)
    if not url:
        return label
    target = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{target}|{label}>"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def _fit_escaped(text: str, limit: int) -> str:
    """``text`` shortened until its escaped form has at most ``limit`` characters."""
    size = len(text)
    while len(escaped := escape(_cut(text, size))) > limit:
        size -= max(1, (len(escaped) - limit) // 5)
    return escaped


def snippet_mrkdwn(snippet: SnippetView, budget: int = MAX_SNIPPET) -> str:
    """A snippet as a mrkdwn quote with its highlights in bold, at most ``budget`` raw chars."""
    parts = []
    for text, hit in snippet.pieces:
        if budget <= 0:
            break
        piece = _cut(text, budget)
        budget -= len(piece)
        parts.append(f"*{escape(piece)}*" if hit and piece.strip() else escape(piece))
    return "> " + "".join(parts)


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not turn plain words into links or mentions on its own.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def story_text(story: StoryView) -> str:
    """The mrkdwn text of one story's section, within ``MAX_SECTION`` characters."""
    meta = [story.feed, story.published_text, "rules: " + ", ".join(story.rules)]
    if story.terms:
        meta.append("terms: " + ", ".join(story.terms[:MAX_TERMS]))
    meta_line = "_" + escape(" · ".join(m for m in meta if m)) + "_"
    quote = "\n".join(snippet_mrkdwn(s) for s in story.snippets[:2])
    sources = ""
    if story.sources:
        names = [link(s.url, s.feed) for s in story.sources[:MAX_SOURCES]]
        extra = len(story.sources) - MAX_SOURCES
        sources = "Also: " + ", ".join(names) + (f" and {extra} more" if extra > 0 else "")
    title = "*" + link(story.url, _cut(story.title, 250)) + "*"
    for parts in (
        [title, meta_line, quote, sources],
        [title, meta_line, quote],
        [title, meta_line],
    ):
        text = "\n".join(p for p in parts if p)
        if len(text) <= MAX_SECTION:
            return text
    return (
        "*" + _fit_escaped(story.title, 1000) + "*\n_" + _fit_escaped(" · ".join(meta), 1500) + "_"
    )


def _body(view: DigestView) -> list[Block]:
    blocks: list[Block] = []
    for group in view.groups:
        if blocks:
            blocks.append({"type": "divider"})
        blocks.append(_section("*" + _fit_escaped(group.name, 200) + "*"))
        blocks.extend(_section(story_text(s)) for s in group.stories)
    if view.more:
        blocks.append(
            _context(f"… and {view.more} more {'story' if view.more == 1 else 'stories'}")
        )
    if not blocks:
        blocks.append(_context("No new stories."))
    return blocks


def _summary(view: DigestView) -> str:
    count = view.story_count + view.more
    return f"{count} {'story' if count == 1 else 'stories'} · {view.created_text}"


def slack_messages(view: DigestView) -> tuple[dict[str, Any], ...]:
    """The Slack webhook payloads (``{"text", "blocks"}``) that carry the digest."""
    header: Block = {
        "type": "header",
        "text": {"type": "plain_text", "text": _fit_escaped(view.title, MAX_HEADER)},
    }
    intro = [header, _context(escape(_summary(view)))]
    body = _body(view)
    chunks = [body[: MAX_BLOCKS - len(intro)]]
    rest = body[len(chunks[0]) :]
    while rest:
        chunks.append(rest[: MAX_BLOCKS - 1])
        rest = rest[MAX_BLOCKS - 1 :]
    fallback = escape(f"{view.title}: {_summary(view)}")
    messages = []
    for i, chunk in enumerate(chunks):
        if i == 0:
            blocks = intro + chunk
            text = fallback
        else:
            note = f"{view.title} (continued, {i + 1}/{len(chunks)})"
            blocks = [_context(_fit_escaped(note, 2000)), *chunk]
            text = escape(note)
        messages.append({"text": text, "blocks": blocks})
    return tuple(messages)
