"""The shape of config.yaml: frozen pydantic models, unknown keys forbidden.

Every key here is documented in docs/configuration.md (a test checks that). Reading the YAML
with positions lives in ``monitor.config.source``, ``${VAR}`` resolution in
``monitor.config.envvars``, cross-checks between sections (unknown entity, digest or channel;
duplicate names; cron; rule syntax) in ``monitor.config.checks``, and locating every error in
the file in ``monitor.config.loader``. The loader resolves relative paths (``storage``'s
SQLite file, ``templates_dir``, a file channel's ``path``) against the config file's
directory, so a loaded ``Config`` holds absolute paths.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, Strict

from monitor.config.units import parse_duration, parse_listen, parse_size


def _parse_interval(value: object) -> object:
    if value == "auto":
        return value
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError("expected 'auto' or a duration such as 10m, 1h or 6h") from None


def _positive_duration(value: object) -> timedelta:
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError("expected a duration longer than zero, such as 30s, 5m or 24h")
    return duration


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[timedelta, BeforeValidator(_positive_duration)]
ByteSize = Annotated[int, BeforeValidator(parse_size)]
# YAML 1.2 reads yes/no/on/off as strings; a flag takes exactly true or false.
Flag = Annotated[bool, Strict()]
# A feed's poll interval: a duration, or "auto" to follow how often the feed publishes.
Interval = Annotated[timedelta | Literal["auto"], BeforeValidator(_parse_interval)]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _listen(value: object) -> object:
    parse_listen(value)
    return value.strip() if isinstance(value, str) else value


# host:port to serve health and metrics on (checked here, parsed by monitor.web).
Listen = Annotated[str, BeforeValidator(_listen)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
# A list that must name at least one thing (channels of a digest, recipients, aliases).
Names = Annotated[tuple[Name, ...], Field(min_length=1)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class HttpSettings(Model):
    user_agent: str = "monitor/0.1 (news monitoring; +https://github.com/monitor-news/monitor)"
    timeout: Duration = timedelta(seconds=20)
    connect_timeout: Duration = timedelta(seconds=10)
    max_feed_bytes: ByteSize = 10 * 1024 * 1024
    max_article_bytes: ByteSize = 5 * 1024 * 1024
    max_redirects: Annotated[int, Field(ge=0, le=20)] = 5
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 16
    per_host: Annotated[int, Field(ge=1, le=100)] = 2
    allow_networks: tuple[Network, ...] = ()
    listen: Listen | None = None


class Defaults(Model):
    poll_interval: Duration = timedelta(minutes=10)
    min_interval: Duration = timedelta(minutes=5)
    max_interval: Duration = timedelta(hours=6)
    fetch_articles: Flag = True
    backfill: Duration = timedelta(hours=24)
    max_new_per_poll: Annotated[int, Field(ge=1)] = 200
    retention: Duration = timedelta(days=90)


class Feed(Model):
    name: Name
    url: str
    tags: tuple[str, ...] = ()
    interval: Interval | None = None
    fetch_articles: Flag | None = None
    enabled: Flag = True


class Novelty(Model):
    track: Names
    within: Annotated[int, Field(ge=1, le=1000)] = 30
    unseen_for: Duration = timedelta(days=90)


class Rule(Model):
    name: Name
    query: str
    notify: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    priority: int = 0
    enabled: Flag = True
    group: str | None = None
    novelty: Novelty | None = None


class Digest(Model):
    name: Name
    schedule: str | None = None
    timezone: str = "UTC"
    immediate: Flag = False
    channels: Names
    max_stories: Annotated[int, Field(ge=1, le=1000)] = 50
    send_empty: Flag = False
    title: str | None = None


class FileChannel(Model):
    type: Literal["file"]
    path: str = "digests/"


class EmailChannel(Model):
    type: Literal["email"]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_: str = Field(alias="from")
    to: Names
    list_unsubscribe: str | None = None
    timeout: Duration = timedelta(seconds=30)


class SlackChannel(Model):
    type: Literal["slack"]
    webhook_url: SecretStr


class WebhookChannel(Model):
    type: Literal["webhook"]
    url: str
    secret: SecretStr


Channel = Annotated[
    FileChannel | EmailChannel | SlackChannel | WebhookChannel, Field(discriminator="type")
]


class Delivery(Model):
    """How the outbox relay retries, gives up and tells the operator (monitor.delivery)."""

    ttl: PositiveDuration = timedelta(hours=24)
    backoff: PositiveDuration = timedelta(minutes=1)
    max_backoff: PositiveDuration = timedelta(hours=1)
    lease: PositiveDuration = timedelta(minutes=5)
    batch: Annotated[int, Field(ge=1, le=1000)] = 50
    dedupe_window: Duration = timedelta(days=30)
    notice_channels: tuple[Name, ...] = ()


class DaemonSettings(Model):
    """How ``monitor run`` paces itself and reloads (monitor.daemon)."""

    tick: PositiveDuration = timedelta(seconds=15)
    shutdown_grace: PositiveDuration = timedelta(seconds=8)
    watch_config: Flag = True


class Config(Model):
    storage: str = "sqlite:///state/monitor.db"
    templates_dir: str | None = None
    http: HttpSettings = HttpSettings()
    defaults: Defaults = Defaults()
    feeds: tuple[Feed, ...] = ()
    entities: dict[str, Names] = {}
    rules: tuple[Rule, ...] = ()
    digests: tuple[Digest, ...] = ()
    channels: dict[str, Channel] = {}
    delivery: Delivery = Delivery()
    daemon: DaemonSettings = DaemonSettings()
