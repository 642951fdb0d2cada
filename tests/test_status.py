"""``monitor status`` and ``monitor healthcheck`` on state made by the real pipeline and a
real daemon: feed verdicts (ok, silent, failing, disabled), outbox and dead letters, the last
config reload, readiness, and the exit codes a container health check relies on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.health import RELOAD_META, TICK_META
from monitor.store import open_store
from tests.farm import Farm
from tests.opskit import daemon, wait_for
from tests.pipeline_kit import RULES, rfc822, rss, run_cli, write_config

RSS = {"Content-Type": "application/rss+xml"}
HOUR = timedelta(hours=1)
HOOK_SECRET = "whsec_c3RhdHVzLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODk="


def hourly(prefix: str, newest: timedelta, count: int = 6) -> bytes:
    now = datetime.now(UTC)
    return rss(
        [
            {"title": f"{prefix} {i}", "guid": f"{prefix}-{i}",
             "description": "Weather and markets.", "date": rfc822(now - newest - i * HOUR)}
            for i in range(count)
        ]
    )  # fmt: skip


def status_json(config: Path) -> dict[str, Any]:
    result = run_cli("status", "-c", str(config), "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_status_reports_feed_health_outbox_and_dead_letters(farm: Farm, tmp_path: Path) -> None:
    alert = {"title": "Hamas in Damascus", "guid": "alert", "date": rfc822(),
             "description": "Hamas rejoins the axis of resistance, said Damascus."}  # fmt: skip
    farm.add("/fresh", hourly("fresh", timedelta(minutes=30))[:-len("</channel></rss>")]
             + rss([alert]).split(b"<item>", 1)[1].join([b"<item>", b""]), headers=RSS)  # fmt: skip
    farm.add("/quiet", hourly("quiet", timedelta(days=3)), headers=RSS)
    farm.add("/broken", b"down for maintenance", status=500)
    farm.add("/off", hourly("off", timedelta(hours=1)), headers=RSS)
    farm.add("/hook", b"gone", status=410)
    rules = RULES.replace("channels: [files]}\nchannels:", "channels: [files, hook]}\nchannels:")
    rules += f'  hook: {{type: webhook, url: "{farm.url("/hook")}", secret: "{HOOK_SECRET}"}}\n'
    config = write_config(
        tmp_path,
        [(n, farm.url(f"/{n}")) for n in ("fresh", "quiet", "broken", "off")],
        extra_defaults="fetch_articles: false",
        rules=rules,
    )
    off = f'{{name: "off", url: "{farm.url("/off")}"}}'
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(off, off[:-1] + ", enabled: false}"), encoding="utf-8")
    for _ in range(3):
        assert run_cli("once", "-c", str(config)).exit_code == 0

    data = status_json(config)
    feeds = {f["name"]: f for f in data["feeds"]}
    assert {n: f["health"] for n, f in feeds.items()} == {
        "fresh": "ok", "quiet": "silent", "broken": "failing", "off": "disabled"
    }  # fmt: skip
    assert feeds["quiet"]["usual_gap_seconds"] == 3600
    assert feeds["quiet"]["silent_after_seconds"] == 24 * 3600
    assert feeds["quiet"]["reason"].startswith("nothing new for 3.0d; it usually publishes every")
    assert feeds["broken"]["error_count"] == 3
    assert feeds["broken"]["last_error_kind"] == "status"
    assert feeds["broken"]["reason"].startswith("3 failed polls in a row: ")
    assert feeds["fresh"]["last_success"] is not None
    assert data["feed_health"] == {"ok": 1, "silent": 1, "failing": 1, "pending": 0,
                                   "disabled": 1}  # fmt: skip
    assert data["outbox"]["delivered"] == 1  # the file channel took the alert
    assert data["dead_letters"]["count"] == 1  # the webhook said 410 Gone
    assert data["dead_letters"]["last"]["count"] == 1
    # `monitor once` is not the daemon: no tick, no recorded config load
    assert data["ready"] is False
    assert data["config"] is None
    assert data["last_tick"] is None

    human = run_cli("status", "-c", str(config))
    assert human.exit_code == 0
    lines = human.stdout.splitlines()
    assert lines[0] == "monitor: NOT READY"
    assert "feeds: 1 ok, 1 silent, 1 failing, 1 disabled" in lines
    assert any(line.startswith("  SILENT   quiet") for line in lines)
    assert any(line.startswith("  FAILING  broken") and "HTTP 500" in line for line in lines)
    assert "outbox: 0 pending, 0 sending, 1 dead, 1 delivered" in lines
    assert any(line.startswith("dead letters: 1; last notice ") for line in lines)


def healthcheck(config: Path) -> tuple[int, str]:
    result = run_cli("healthcheck", "-c", str(config))
    return result.exit_code, result.stdout.strip()


def reload_record(tmp_path: Path) -> dict[str, Any]:
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    try:
        record: dict[str, Any] = store.get_meta(RELOAD_META)
        return record
    finally:
        store.close()


def test_healthcheck_and_status_follow_a_real_daemon(farm: Farm, tmp_path: Path) -> None:
    farm.add("/feed", hourly("news", timedelta(minutes=5)), headers=RSS)
    config = write_config(
        tmp_path,
        [("news", farm.url("/feed"))],
        extra_defaults="fetch_articles: false",
        rules=RULES + "daemon:\n  tick: 1s\n",
    )
    code, said = healthcheck(config)
    assert (code, said) == (1, f"unhealthy: no state database at {tmp_path}/state/monitor.db "
                               "(has the daemon run?)")  # fmt: skip
    good = config.read_text(encoding="utf-8")
    log = tmp_path / "daemon.log"
    with daemon(config, log):
        wait_for(lambda: status_json(config)["ready"], "the daemon to be ready")
        code, said = healthcheck(config)
        assert code == 0, said
        assert said.startswith("healthy: last poll tick ")
        data = status_json(config)
        assert data["config"]["ok"] is True
        assert data["tick"]["tick_seconds"] == 1

        # a broken edit is rejected: status shows it, the daemon goes on with the old config
        config.write_text(good.replace("tick: 1s", "tick: soon"), encoding="utf-8")
        wait_for(lambda: reload_record(tmp_path)["ok"] is False, "the rejected reload")
        [error] = reload_record(tmp_path)["errors"]
        assert error.startswith(f"{config}:30:9: daemon.tick: expected a duration")
        assert healthcheck(config)[0] == 1  # see docs/operations.md: fix the file first
        config.write_text(good, encoding="utf-8")  # back to the config in use
        wait_for(lambda: reload_record(tmp_path)["ok"], "the config back in order")
        assert healthcheck(config)[0] == 0

    # Ten minutes on, the daemon's last tick is old news.
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    try:
        started = datetime.now(UTC) - timedelta(minutes=10)
        record = {"started": started.isoformat(), "finished": started.isoformat(),
                  "tick_seconds": 1}  # fmt: skip
        store.set_meta(TICK_META, record, started)
    finally:
        store.close()
    code, said = healthcheck(config)
    assert code == 1
    assert said.startswith("unhealthy: the last poll tick started 10m ago (finished)")


def test_healthcheck_fails_on_a_broken_config_or_store(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("a", "http://127.0.0.1:9/feed")])
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "monitor.db").write_bytes(b"this is not a database" * 100)
    code, said = healthcheck(config)
    assert code == 1
    assert said.startswith("unhealthy: the store cannot be read: ")
    config.write_text("feeds: [{name: a}]\n", encoding="utf-8")
    assert healthcheck(config) == (
        1, "unhealthy: the config is invalid (1 error(s); see `monitor check`)"
    )  # fmt: skip


def test_status_shows_a_rejected_reload_with_its_errors(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("a", "http://127.0.0.1:9/feed")])
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    now = datetime.now(UTC)
    try:
        store.set_meta(TICK_META, {"started": now.isoformat(), "finished": None}, now)
        errors = ["config.yaml:7:5: rules[0].query: unknown entity @nobody"]
        record = {"ok": False, "at": now.isoformat(), "errors": errors, "feeds": 3, "rules": 2}
        store.set_meta(RELOAD_META, record, now)
    finally:
        store.close()
    lines = run_cli("status", "-c", str(config)).stdout.splitlines()
    assert lines[0].startswith("monitor: ready (last poll tick ")
    assert lines[1].startswith("config: the last reload (")
    assert lines[1].endswith("was REJECTED; still running the previous config (3 feeds, 2 rules):")
    assert lines[2] == "  config.yaml:7:5: rules[0].query: unknown entity @nobody"
    assert lines[3] == "feeds: 1 pending"
