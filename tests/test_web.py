"""The health and metrics server, scraped over loopback: in process against a real SQLite
store, and inside a real ``monitor run`` (with ``monitor healthcheck`` asking its /readyz)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import Config, load_config_text
from monitor.delivery.relay import RelayReport, RowOutcome
from monitor.health import RELOAD_META, TICK_META
from monitor.metrics import Metrics
from monitor.pipeline import FeedReport
from monitor.snapshot import read_readiness, take_snapshot
from monitor.store import OutboxRecord, PollOutcome, Store, open_store
from monitor.web import HealthServer
from tests.farm import Farm
from tests.opskit import daemon, events, wait_for
from tests.pipeline_kit import RULES, rss, run_cli, seed_story, write_config

NOW = datetime(2025, 6, 9, 12, 0, tzinfo=UTC)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text exposition: (name, sorted labels) → value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def prepared_store(tmp_path: Path) -> tuple[Store, Config]:
    """Feed ``a`` polled fine, ``b`` failing three times; one pending and one dead message."""
    config = load_config_text("feeds:\n  - {name: a, url: 'http://a.example/'}\n"
                              "  - {name: b, url: 'http://b.example/'}\n")  # fmt: skip
    store = open_store(f"sqlite:///{tmp_path / 'monitor.db'}")
    store.sync_feeds(config.feeds, NOW - timedelta(days=1))
    ids = {s.name: s.id for s in store.list_feeds()}
    store.record_poll(ids["a"], PollOutcome(now=NOW - timedelta(minutes=5), ok=True,
                                            next_poll_at=NOW))  # fmt: skip
    for minutes in (30, 20, 10):
        outcome = PollOutcome(now=NOW - timedelta(minutes=minutes), ok=False, next_poll_at=NOW,
                              error="b: timed out", error_kind="timeout")  # fmt: skip
        store.record_poll(ids["b"], outcome)
    store.enqueue([OutboxRecord(f"k{i}", "files", {"x": i}) for i in (1, 2)], NOW)
    [row, _] = store.claim_outbox(NOW, 2, timedelta(minutes=5))
    store.mark_dead(row.id, NOW, "HTTP 410")
    store.mark_retry(_.id, NOW, NOW + timedelta(minutes=1), "HTTP 503")
    return store, config


def set_tick(store: Store, started: datetime, finished: datetime | None) -> None:
    record = {
        "started": started.isoformat(),
        "finished": finished.isoformat() if finished else None,
        "tick_seconds": 15,
    }
    store.set_meta(TICK_META, record, started)


async def get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    return await client.get(path)


def check_scrape(found: Samples) -> None:
    """What /metrics says about the prepared store and the counters fed in."""
    assert value(found, "monitor_store_up") == 1
    assert value(found, "monitor_outbox_messages", state="pending") == 1
    assert value(found, "monitor_outbox_messages", state="dead") == 1
    success = value(found, "monitor_feed_last_success_timestamp_seconds", feed="a")
    assert success == (NOW - timedelta(minutes=5)).timestamp()
    assert value(found, "monitor_feed_last_success_timestamp_seconds", feed="b") is None
    assert value(found, "monitor_feeds", health="failing") == 1
    assert value(found, "monitor_feeds", health="ok") == 1
    assert value(found, "monitor_feed_health", feed="b", health="failing") == 1
    assert value(found, "monitor_feed_consecutive_errors", feed="b") == 3
    assert value(found, "monitor_feed_polls_total", status="error") == 1
    assert value(found, "monitor_feed_polls_total", status="not_modified") == 0
    assert value(found, "monitor_feed_errors_total", kind="timeout") == 1
    latency = "monitor_delivery_latency_seconds"
    assert value(found, f"{latency}_count", channel="files") == 1
    assert value(found, f"{latency}_sum", channel="files") == 90
    assert value(found, f"{latency}_bucket", channel="files", le="60.0") == 0
    assert value(found, f"{latency}_bucket", channel="files", le="120.0") == 1
    assert value(found, "monitor_config_last_reload_success") == 1
    assert value(found, "monitor_ready") == 1


def test_the_endpoints_report_the_store_and_the_counters(tmp_path: Path) -> None:
    store, config = prepared_store(tmp_path)
    clock: list[datetime] = [NOW]
    now: Callable[[], datetime] = lambda: clock[0]  # noqa: E731
    store.set_meta(RELOAD_META, {"ok": True, "at": NOW.isoformat(), "errors": []}, NOW)
    set_tick(store, NOW - timedelta(seconds=5), NOW - timedelta(seconds=4))
    metrics = Metrics()
    metrics.watch(lambda: take_snapshot(store, config, now()))
    metrics.feed_polled(FeedReport("a", "fetched"))
    metrics.feed_polled(FeedReport("b", "error", error="b: timed out", kind="timeout"))
    sent = RowOutcome(7, "k7", "files", "daily", "delivered", 1, created_at=NOW,
                      finished_at=NOW + timedelta(seconds=90))  # fmt: skip
    metrics.relayed(RelayReport([sent]))
    server = HealthServer(
        "127.0.0.1", 0, ready=lambda: read_readiness(store, config, now()),
        metrics=metrics.exposition,
    )  # fmt: skip

    async def scenario() -> None:
        async with server:
            host, port = server.address
            base = f"http://{host}:{port}"
            async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
                health = await client.get("/healthz")
                assert (health.status_code, health.json()) == (200, {"status": "ok"})
                ready = await client.get("/readyz")
                assert ready.status_code == 200, ready.text
                assert ready.json()["ready"] is True

                scrape = await client.get("/metrics")
                assert scrape.headers["content-type"].startswith("text/plain")
                check_scrape(samples(scrape.text))

                # Two minutes later, with no tick since: not ready, and it says why.
                clock[0] = NOW + timedelta(minutes=2)
                stale = await client.get("/readyz")
                assert stale.status_code == 503
                [reason] = stale.json()["reasons"]
                assert reason.startswith("the last poll tick started 2m ago (finished)")
                assert value(samples((await client.get("/metrics")).text), "monitor_ready") == 0

                head = await client.head("/healthz")
                assert (head.status_code, head.content) == (200, b"")
                assert (await client.post("/metrics")).status_code == 405
                assert (await client.get("/nope")).status_code == 404
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET /healthz HTTP/1.1\r\nX-Junk: " + b"x" * 20000 + b"\r\n\r\n")
            await writer.drain()
            answer = await reader.read()
            writer.close()
            assert answer.startswith(b"HTTP/1.1 400 ")

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_running_daemon_serves_its_metrics_and_passes_the_healthcheck(
    farm: Farm, tmp_path: Path
) -> None:
    farm.add("/feed", rss([seed_story()]), headers={"Content-Type": "application/rss+xml"})
    port = free_port()
    config = write_config(
        tmp_path,
        [("f", farm.url("/feed"))],
        http=f"listen: 127.0.0.1:{port}",
        extra_defaults="fetch_articles: false",
        rules=RULES + "daemon:\n  tick: 1s\n",
    )
    log = tmp_path / "daemon.log"
    base = f"http://127.0.0.1:{port}"
    with daemon(config, log), httpx.Client(base_url=base, trust_env=False) as client:
        wait_for(lambda: events(log, "http.listening"), "the server")
        [listening] = events(log, "http.listening")
        assert (listening["host"], listening["port"]) == ("127.0.0.1", port)

        def delivered() -> bool:
            found = samples(client.get("/metrics").text)
            sent = value(found, "monitor_deliveries_total", channel="files", outcome="delivered")
            return bool(sent)

        wait_for(delivered, "the first alert delivered")
        found = samples(client.get("/metrics").text)
        assert value(found, "monitor_feed_polls_total", status="fetched") == 1
        assert value(found, "monitor_articles_total") == 1
        assert value(found, "monitor_matches_total", rule="axis-new-alignments") == 1
        assert value(found, "monitor_matches_total", rule="hamas-damascus") == 1
        assert value(found, "monitor_delivery_latency_seconds_count", channel="files") == 1
        assert value(found, "monitor_config_reloads_total", result="ok") == 1
        assert value(found, "monitor_feed_health", feed="f", health="ok") == 1

        wait_for(lambda: client.get("/readyz").status_code == 200, "readiness")
        check = subprocess.run(
            [sys.executable, "-m", "monitor", "healthcheck", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert check.stdout.startswith("healthy: last poll tick ")
    # stopped: the healthcheck now fails, and says the server does not answer
    after = run_cli("healthcheck", "-c", str(config))
    assert after.exit_code == 1
    assert after.stdout.startswith(f"unhealthy: {base}/readyz: ")
