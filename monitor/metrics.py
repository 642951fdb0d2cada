"""Prometheus metrics of one daemon, in its own registry (never the process-global one).

Counters are fed by the daemon from what each step reports: :meth:`Metrics.feed_polled` per
``FeedReport``, :meth:`Metrics.relayed` per ``RelayReport``, :meth:`Metrics.config_loaded`
per start or reload. Gauges that describe the state (outbox depth, feeds by health, last
successful poll per feed, the poll tick, the last config reload) are read from the store when
``/metrics`` is scraped, by a collector over a snapshot function (:meth:`Metrics.watch`), so
they are right even for work another process did. The names are listed in docs/operations.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from monitor.config.schema import Config
from monitor.delivery.relay import RelayReport
from monitor.pipeline import FeedReport
from monitor.snapshot import Snapshot

log = logging.getLogger("monitor.metrics")

POLL_STATUSES = ("fetched", "not_modified", "unchanged", "error", "disabled")
DELIVERY_OUTCOMES = ("delivered", "retry", "dead")
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400)


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class StoreCollector:
    """Gauges read from the store at scrape time (one snapshot per scrape)."""

    def __init__(self, read: Callable[[], Snapshot]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("monitor_store_up", "1 when the store answered this scrape.")
        try:
            snap = self.read()
        except SQLAlchemyError as exc:
            log.warning(
                "metrics: the store cannot be read: %s",
                exc,
                extra={"event": "metrics.store_error", "error": str(exc)},
            )
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from self._state(snap)
        yield from self._feeds(snap)

    def _state(self, snap: Snapshot) -> Iterable[Metric]:
        outbox = GaugeMetricFamily(
            "monitor_outbox_messages", "Outbox rows by state.", labels=["state"]
        )
        for state, count in sorted(snap.outbox.items()):
            outbox.add_metric([state], count)
        ready = GaugeMetricFamily("monitor_ready", "1 when /readyz would answer 200.")
        ready.add_metric([], 1 if snap.readiness.ready else 0)
        yield from (outbox, ready)
        if snap.readiness.last_tick is not None:
            yield GaugeMetricFamily(
                "monitor_poll_tick_last_start_timestamp_seconds",
                "When the daemon's poll tick last started.",
                value=snap.readiness.last_tick.timestamp(),
            )
        reload = snap.reload or {}
        if "ok" in reload:
            yield GaugeMetricFamily(
                "monitor_config_last_reload_success",
                "1 when the last config load or reload was accepted.",
                value=1 if reload["ok"] else 0,
            )
        at = _when(reload.get("at"))
        if at is not None:
            yield GaugeMetricFamily(
                "monitor_config_last_reload_timestamp_seconds",
                "When the config was last loaded or a reload was tried.",
                value=at.timestamp(),
            )

    def _feeds(self, snap: Snapshot) -> Iterable[Metric]:
        by_health = GaugeMetricFamily(
            "monitor_feeds", "Configured feeds by health verdict.", labels=["health"]
        )
        for verdict, count in snap.health_counts().items():
            by_health.add_metric([verdict], count)
        health = GaugeMetricFamily(
            "monitor_feed_health",
            "1 for each feed's current verdict (ok, silent, failing, pending, disabled).",
            labels=["feed", "health"],
        )
        success = GaugeMetricFamily(
            "monitor_feed_last_success_timestamp_seconds",
            "When each feed was last polled successfully.",
            labels=["feed"],
        )
        polled = GaugeMetricFamily(
            "monitor_feed_last_poll_timestamp_seconds",
            "When each feed was last polled.",
            labels=["feed"],
        )
        errors = GaugeMetricFamily(
            "monitor_feed_consecutive_errors", "Failed polls in a row, per feed.", labels=["feed"]
        )
        for feed in snap.feeds:
            health.add_metric([feed.name, feed.health.verdict], 1)
            errors.add_metric([feed.name], feed.error_count)
            for family, value in ((success, feed.last_success), (polled, feed.last_poll)):
                stamp = _ts(value)
                if stamp is not None:
                    family.add_metric([feed.name], stamp)
        yield from (by_health, health, success, polled, errors)


class Metrics:
    """The counters and the registry of one daemon."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("monitor_feed_polls", "Feed polls by outcome.", ["status"], registry=r)
        self.errors = Counter(
            "monitor_feed_errors", "Failed feed polls by error kind.", ["kind"], registry=r
        )
        self.articles = Counter("monitor_articles", "New articles stored.", registry=r)
        self.matches = Counter("monitor_matches", "Rule matches by rule.", ["rule"], registry=r)
        self.deliveries = Counter(
            "monitor_deliveries",
            "Outbox rows relayed, by channel and outcome (delivered, retry, dead).",
            ["channel", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "monitor_delivery_latency_seconds",
            "From the outbox row's creation to its delivery.",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reloads = Counter(
            "monitor_config_reloads", "Config loads and reloads by result.", ["result"], registry=r
        )
        for status in POLL_STATUSES:
            self.polls.labels(status)
        for result in ("ok", "rejected"):
            self.reloads.labels(result)
        self._collector: StoreCollector | None = None

    def watch(self, read: Callable[[], Snapshot]) -> None:
        """Expose the store's state, read by ``read`` at each scrape."""
        if self._collector is not None:
            self.registry.unregister(self._collector)
        self._collector = StoreCollector(read)
        self.registry.register(self._collector)

    def config_loaded(self, ok: bool, config: Config | None = None) -> None:
        """Count a config load or reload; an accepted ``config`` names the rules and channels
        (so their counters exist, at zero, before the first match or delivery)."""
        self.reloads.labels("ok" if ok else "rejected").inc()
        if config is not None:
            for rule in config.rules:
                self.matches.labels(rule.name)
            for channel in config.channels:
                for outcome in DELIVERY_OUTCOMES:
                    self.deliveries.labels(channel, outcome)

    def feed_polled(self, report: FeedReport) -> None:
        """Count one feed's poll, its error kind, its new articles and their matches."""
        self.polls.labels(report.status).inc()
        if report.error:
            self.errors.labels(report.kind or "unknown").inc()
        self.articles.inc(len(report.articles))
        for item in report.articles:
            for match in item.alerts.found:
                self.matches.labels(match.rule).inc()

    def relayed(self, report: RelayReport) -> None:
        """Count a relay pass's outcomes and the delivered rows' latency."""
        for o in report.outcomes:
            self.deliveries.labels(o.channel, o.verdict).inc()
            if o.verdict == "delivered" and o.created_at and o.finished_at:
                seconds = (o.finished_at - o.created_at).total_seconds()
                self.latency.labels(o.channel).observe(max(seconds, 0.0))

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format the scraper asked for: (body, content type)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
