"""The one interface of every channel, and the registry that finds a channel by ``type``.

A channel sends a rendered ``Message`` under an idempotency ``key`` and either returns (the
receiver acknowledged it: SMTP 250 after DATA, Slack 200 ``ok``, webhook 2xx, file written)
or raises ``TransientDeliveryError`` (worth retrying; ``retry_after`` in seconds when the
receiver said) or ``PermanentDeliveryError`` (will never succeed as sent). The key travels
on the wire (e-mail ``Message-ID``, Slack ``block_id``, ``webhook-id``, file name), so a
repeat after a lost acknowledgement can be recognised.

Each channel module registers a factory for its config ``type`` with ``@register``;
``create_channels`` builds every configured channel. No if-chain: a new kind of channel is a
new module and one import in ``monitor/channels/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from monitor.model import Message

if TYPE_CHECKING:
    from monitor.config.schema import Channel as ChannelConfig
    from monitor.http import HttpClient

__all__ = ["Channel", "ChannelDeps", "Message", "create_channel", "create_channels", "register"]


class Channel(Protocol):
    """Where digests go. ``name`` is the channel's key in the config's ``channels``."""

    name: str

    async def send(self, message: Message, key: str) -> None:
        """Deliver ``message``; raise ``TransientDeliveryError`` or ``PermanentDeliveryError``."""
        ...


@dataclass(frozen=True)
class ChannelDeps:
    """What channels share: the one HTTP client (SSRF guard, limits) of the process."""

    http: HttpClient


Factory = Callable[[str, Any, ChannelDeps], Channel]
_REGISTRY: dict[str, Factory] = {}


def register(kind: str) -> Callable[[Factory], Factory]:
    """Register the factory that builds channels of config ``type: kind``."""

    def decorate(factory: Factory) -> Factory:
        if kind in _REGISTRY:
            raise ValueError(f"channel type {kind!r} is registered twice")
        _REGISTRY[kind] = factory
        return factory

    return decorate


def channel_types() -> tuple[str, ...]:
    """The registered channel types."""
    return tuple(sorted(_REGISTRY))


def create_channel(name: str, config: ChannelConfig, deps: ChannelDeps) -> Channel:
    """The channel ``name`` configured by ``config``."""
    try:
        factory = _REGISTRY[config.type]
    except KeyError:
        raise ValueError(f"channel {name}: unknown type {config.type!r}") from None
    return factory(name, config, deps)


def create_channels(configs: Mapping[str, ChannelConfig], deps: ChannelDeps) -> dict[str, Channel]:
    """Every configured channel, by name."""
    return {name: create_channel(name, config, deps) for name, config in configs.items()}
