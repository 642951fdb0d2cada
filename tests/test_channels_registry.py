"""Channels are found by config type through the registry."""

from __future__ import annotations

import asyncio

from monitor.channels import channel_types, create_channels
from monitor.channels.base import ChannelDeps
from monitor.channels.email import EmailChannel
from monitor.channels.files import FileChannel
from monitor.channels.slack import SlackChannel
from monitor.channels.webhook import WebhookChannel
from monitor.config.schema import Config, HttpSettings
from monitor.http import HttpClient


def test_every_configured_type_has_a_channel() -> None:
    config = Config.model_validate(
        {
            "channels": {
                "files": {"type": "file"},
                "mail": {
                    "type": "email",
                    "host": "smtp.example.org",
                    "from": "m@example.org",
                    "to": ["desk@example.org"],
                },
                "chat": {"type": "slack", "webhook_url": "https://hooks.slack.com/services/x"},
                "hook": {"type": "webhook", "url": "https://hooks.example.org/", "secret": "s"},
            }
        }
    )

    async def main() -> None:
        async with HttpClient(HttpSettings()) as http:
            channels = create_channels(config.channels, ChannelDeps(http))
            assert {n: type(c) for n, c in channels.items()} == {
                "files": FileChannel,
                "mail": EmailChannel,
                "chat": SlackChannel,
                "hook": WebhookChannel,
            }
            assert all(c.name == n for n, c in channels.items())

    asyncio.run(main())
    assert channel_types() == ("email", "file", "slack", "webhook")
