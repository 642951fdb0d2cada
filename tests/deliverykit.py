"""Helpers for the delivery tests: a real store with queued stories, configs, loopback channels.

``Newsroom`` wraps a SQLite store and queues stories for digests the way the pipeline does
(``save_article`` with matches and digest items). ``channels_on`` builds real e-mail, Slack
and webhook channels pointed at the receivers of ``tests.receivers``; ``relay_pass`` runs one
relay pass at a simulated ``now`` with a fresh HTTP client.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.channels import Channel
from monitor.channels.email import EmailChannel
from monitor.channels.slack import SlackChannel
from monitor.channels.webhook import WebhookChannel
from monitor.config import schema
from monitor.config.schema import Config, Feed, HttpSettings
from monitor.delivery import RelayReport, RetryPolicy, relay_once
from monitor.http import HttpClient
from monitor.model import Article
from monitor.store import DigestItemRecord, MatchRecord, Store
from tests.digestkit import evidence

T0 = datetime(2025, 3, 3, 6, 30, tzinfo=UTC)  # Monday 06:30 UTC
LOOPBACK = HttpSettings.model_validate({"allow_networks": ["127.0.0.1/32"]})
SECRET = "whsec_" + base64.b64encode(b"delivery-test-secret-0123456789ab").decode()
SLACK_PATH = "/services/T0/B0/delivery"
HOOK_PATH = "/hooks/monitor"
POLICY = RetryPolicy(
    ttl=timedelta(hours=24),
    backoff=timedelta(minutes=1),
    max_backoff=timedelta(hours=1),
    lease=timedelta(minutes=5),
    batch=50,
)


def config(
    *,
    digests: Sequence[Mapping[str, Any]],
    channels: Mapping[str, Mapping[str, Any]],
    delivery: Mapping[str, Any] | None = None,
    storage: str = "sqlite:///unused.db",
) -> Config:
    """A config holding only what delivery reads (rules of the stories queued by Newsroom)."""
    return Config.model_validate(
        {
            "storage": storage,
            "rules": [
                {"name": "hamas-damascus", "query": "hamas NEAR/30 damascus", "group": "Syria"},
                {"name": "other", "query": "other"},
            ],
            "digests": list(digests),
            "channels": dict(channels),
            "delivery": dict(delivery or {}),
        }
    )


def mail_config(port: int) -> dict[str, Any]:
    return {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "Monitor <monitor@example.org>",
        "to": ["desk@example.org"],
        "timeout": "3s",
    }


class Newsroom:
    """A store with feeds, and stories queued for digests as the pipeline queues them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.feeds: dict[str, int] = {}

    def _feed_id(self, name: str, now: datetime) -> int:
        if name not in self.feeds:
            configured = [
                Feed(name=n, url=f"https://{n}.example/feed") for n in [*self.feeds, name]
            ]
            self.store.sync_feeds(configured, now)
            self.feeds = {f.name: f.id for f in self.store.list_feeds()}
        return self.feeds[name]

    def queue(
        self,
        title: str,
        text: str,
        *,
        feed: str = "wire",
        url: str | None = None,
        rule: str = "hamas-damascus",
        terms: Sequence[str] = ("hamas", "damascus"),
        digests: Sequence[str] = ("daily",),
        published: datetime | None = None,
        now: datetime = T0,
    ) -> int | None:
        """Store an article matched by ``rule`` and queue it for ``digests``."""
        feed_id = self._feed_id(feed, now)
        url = url or f"https://{feed}.example/{hashlib.sha1(title.encode()).hexdigest()[:8]}"
        article = Article(
            feed=feed,
            url=url,
            canonical_url=url,
            title=title,
            text=text,
            published=published or now - timedelta(hours=1),
            language="en",
            author=None,
            content_hash=hashlib.sha256(f"{title}\n{text}".encode()).hexdigest(),
        )
        return self.store.save_article(
            feed_id,
            url,
            article,
            [MatchRecord(rule, evidence(rule, terms, text[:200]))],
            (),
            [DigestItemRecord(d, rule) for d in digests],
            (),
            now,
        )


ChannelFactory = Callable[[HttpClient], Mapping[str, Channel]]


def channels_on(
    *, smtp_port: int | None = None, slack_url: str | None = None, hook_url: str | None = None
) -> ChannelFactory:
    """Real channels named ``mail``, ``slack`` and ``hook`` (those given) for ``relay_pass``."""

    def make(http: HttpClient) -> dict[str, Channel]:
        made: dict[str, Channel] = {}
        if smtp_port is not None:
            made["mail"] = EmailChannel(
                "mail", schema.EmailChannel.model_validate(mail_config(smtp_port))
            )
        if slack_url is not None:
            slack = schema.SlackChannel.model_validate({"type": "slack", "webhook_url": slack_url})
            made["slack"] = SlackChannel("slack", slack, http, min_interval=0.0)
        if hook_url is not None:
            hook = schema.WebhookChannel.model_validate(
                {"type": "webhook", "url": hook_url, "secret": SECRET}
            )
            made["hook"] = WebhookChannel("hook", hook, http)
        return made

    return make


def relay_pass(
    store: Store,
    make_channels: ChannelFactory,
    now: datetime,
    *,
    policy: RetryPolicy = POLICY,
    seed: int = 0,
    notice_channels: Sequence[str] = (),
) -> RelayReport:
    """One relay pass at ``now`` with a fresh HTTP client (no cooldown carried over)."""

    async def main() -> RelayReport:
        async with HttpClient(LOOPBACK) as http:
            return await relay_once(
                store,
                make_channels(http),
                policy,
                now=now,
                rng=random.Random(seed),
                notice_channels=notice_channels,
            )

    return asyncio.run(main())
