"""The daemon's delivery jobs with a simulated clock: a cron slot missed while the daemon was
down runs exactly once when it is back; immediate digests go out on the next tick."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import load_config
from monitor.daemon import Daemon
from monitor.services import services
from tests.deliverykit import Newsroom

CONFIG = """
storage: sqlite:///state/monitor.db
rules:
  - {name: hamas-damascus, query: hamas NEAR/30 damascus, notify: [daily, urgent]}
digests:
  - {name: daily, schedule: "0 7 * * *", timezone: UTC, channels: [files]}
  - {name: urgent, immediate: true, channels: [files]}
channels:
  files: {type: file, path: out/}
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_missed_slot_runs_once_on_return_and_immediate_digests_flush(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    loaded = load_config(path)
    out = tmp_path / "out"
    clock = [at("2025-06-09 06:00")]

    def mails(prefix: str) -> list[Path]:
        return sorted(out.glob(f"digest-{prefix}*.eml")) if out.exists() else []

    async def scenario() -> None:
        async with services(loaded) as svc:
            daemon = Daemon(path, loaded, replace(svc, clock=lambda: clock[0]))
            news = Newsroom(svc.store)
            news.queue("Hamas officials in Damascus", "Hamas officials visited Damascus.",
                       digests=("daily", "urgent"), now=clock[0])  # fmt: skip

            await daemon.relay_tick()  # Monday 06:00: the urgent digest goes out at once
            assert (len(mails("urgent")), len(mails("daily"))) == (1, 0)

            # The daemon is down from Monday 06:00 to Thursday 09:30: three 07:00 slots pass.
            for minute in range(3):
                clock[0] = at(f"2025-06-12 09:3{minute}")
                await daemon.relay_tick()
            [caught_up] = mails("daily")  # one run, for the latest slot only
            assert caught_up.name.startswith("digest-daily-2025-06-12T07-00Z-files-")

            # Friday's cron job fires on time (and a racing tick finds nothing more to do).
            news.queue("Damascus hosts Hamas", "Damascus hosted Hamas leaders.", now=clock[0])
            clock[0] = at("2025-06-13 07:00:00.02")
            await daemon.digest_tick("daily")
            await daemon.relay_tick()
            assert len(mails("daily")) == 2
            assert svc.store.outbox_counts()["delivered"] == 3

    asyncio.run(scenario())
