"""Digests: build (group, de-duplicate, order, cap) and render (templates, Slack, webhook).

Pure core: data in, data out, ``now`` a parameter. The scheduler's digest job calls::

    built = build_digest(digest, store.pending_digest(name), now=now, sent=..., rules=...)
    message = render_message(built, templates)   # templates = Templates(config.templates_dir)

``check_templates(templates_dir)`` lists template problems for the config check.
"""

from monitor.digests.build import BuiltDigest, Source, Story, StoryGroup, build_digest
from monitor.digests.render import render_message
from monitor.digests.templates import TemplateProblem, Templates, check_templates

__all__ = [
    "BuiltDigest",
    "Source",
    "Story",
    "StoryGroup",
    "TemplateProblem",
    "Templates",
    "build_digest",
    "check_templates",
    "render_message",
]
