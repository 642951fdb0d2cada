"""Channels: where digests go. One module per kind, one Protocol (``base.Channel``), and a
registry by config ``type`` that the imports below fill in."""

from monitor.channels import email, files, slack, webhook
from monitor.channels.base import (
    Channel,
    ChannelDeps,
    Message,
    channel_types,
    create_channel,
    create_channels,
    register,
)

__all__ = [
    "Channel",
    "ChannelDeps",
    "Message",
    "channel_types",
    "create_channel",
    "create_channels",
    "email",
    "files",
    "register",
    "slack",
    "webhook",
]
