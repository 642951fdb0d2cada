"""Harness for the crash-safety tests: real receivers, a daemon we can kill, the checks.

``Rig`` holds one scenario: the feeds (``tests.crashwire.Newswire``: items keep appearing
while the daemon dies), the real receivers (aiosmtpd, and ``WebhookInbox`` on the farm), the
state and a ``DaemonRunner``, which starts ``monitor run`` as a subprocess (optionally with
``MONITOR_CRASH_AT``), kills it, or stops it with SIGTERM.

What arrived is read as the receivers saw it: each delivery with its key (``Message-ID`` /
``webhook-id``, the signature checked by the reference Standard Webhooks library) and the
stories it carried. ``check_channel`` is the delivery contract from the outside: every
expected story arrived, under exactly one key; a key that arrived twice came with the same
bytes (the repeat of the after-acknowledgement window); nothing else arrived.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from standardwebhooks import Webhook

from monitor.store import open_store
from tests.crashwire import Newswire
from tests.deliverykit import SECRET
from tests.farm import Farm, Reply, Request
from tests.receivers import SmtpReceiver

HOOK_PATH = "/hooks/alerts"
CHANNELS = ("mail", "hook")
STORY_URL = re.compile(r"/story/([a-z]+(?:-[a-z]+)*-\d+)")


@dataclass(frozen=True)
class Delivery:
    """One message a receiver accepted: its key, its stories and its exact content."""

    key: str
    stories: frozenset[str]
    content: bytes


class WebhookInbox:
    """The farm handler of the webhook endpoint: verifies and records each POST, answers 204."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
        return Reply(204)


def _slugs(text: str) -> frozenset[str]:
    return frozenset(STORY_URL.findall(text))


def mail_deliveries(smtp: SmtpReceiver) -> list[Delivery]:
    with smtp.lock:
        received = list(smtp.messages)
    out = []
    for r in received:
        mail = r.message
        part = mail.get_body(preferencelist=("plain",))
        assert part is not None
        out.append(Delivery(str(mail["Message-ID"]), _slugs(str(part.get_content())), r.data))
    return out


def hook_deliveries(hook: WebhookInbox) -> list[Delivery]:
    """Each POST, its Standard Webhooks signature checked by the reference library."""
    out = []
    for request in list(hook.requests):
        payload = Webhook(SECRET).verify(request.body, request.headers)
        assert isinstance(payload, dict)
        assert payload["type"] == "digest.created"
        out.append(
            Delivery(request.headers["webhook-id"], _slugs(json.dumps(payload)), request.body)
        )
    return out


@dataclass
class Verdict:
    """What ``check`` found on one channel."""

    channel: str
    deliveries: int
    keys: int
    repeats: int  # extra copies of keys that arrived more than once
    stories: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return (
            f"{self.channel}: {len(self.stories)} stories in {self.keys} messages, "
            f"{self.deliveries} deliveries ({self.repeats} repeated)"
        )


def check_channel(channel: str, deliveries: Sequence[Delivery], expected: set[str]) -> Verdict:
    """Every expected story under exactly one key; repeats of a key identical; nothing else."""
    by_key: dict[str, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        by_key[d.key].append(d)
    keys_of: dict[str, set[str]] = defaultdict(set)
    for key, copies in by_key.items():
        first = copies[0]
        for copy in copies[1:]:
            # the same bytes: for e-mail the same Message-ID, Date and boundary too
            assert copy.content == first.content, f"{channel}: key {key} resent differently"
        for slug in first.stories:
            keys_of[slug].add(key)
    arrived = set(keys_of)
    assert arrived >= expected, f"{channel}: lost {sorted(expected - arrived)}"
    assert arrived <= expected, f"{channel}: unexpected {sorted(arrived - expected)}"
    twice = {s: k for s, k in keys_of.items() if len(k) > 1}
    assert not twice, f"{channel}: stories sent under two keys: {twice}"
    repeats = sum(len(c) - 1 for c in by_key.values())
    return Verdict(channel, len(deliveries), len(by_key), repeats, arrived)


def arrived(deliveries: Sequence[Delivery]) -> set[str]:
    return {s for d in deliveries for s in d.stories}


def sqlite_integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` of the state file (``ok`` when sound)."""
    with sqlite3.connect(db) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def outbox_settled(storage: str) -> bool:
    """Nothing pending, leased or dead in the outbox."""
    with open_store(storage) as store:
        counts = store.outbox_counts()
    return counts["pending"] == counts["leased"] == counts["dead"] == 0


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 0.1 s until true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


class DaemonRunner:
    """``monitor run -c CONFIG`` as a subprocess; every run appends to one log file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self._log_start = 0

    def start(self, crash_at: str | None = None) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k != "MONITOR_CRASH_AT"}
        env["PYTHONUNBUFFERED"] = "1"
        if crash_at:
            env["MONITOR_CRASH_AT"] = crash_at
        self._log_start = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            out.write(f"--- run {self.runs} (crash at {crash_at})\n".encode())
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.runs += 1
        return self.proc

    def output(self) -> str:
        """What the current run has logged so far."""
        with self.log.open("rb") as f:
            f.seek(self._log_start)
            return f.read().decode("utf-8", "replace")

    def running(self) -> bool:
        return "monitor running" in self.output()

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the daemon did not exit in {timeout:g} s:\n{self.tail()}"
            ) from None

    def kill(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 10.0) -> tuple[int, float]:
        """SIGTERM; returns the exit status and how long the daemon took to exit."""
        assert self.proc is not None
        wait_for(self.running, 30, "the daemon to start")  # its handlers are installed then
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout), time.monotonic() - started

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def write_config(
    path: Path,
    *,
    storage: str,
    feeds: dict[str, str],
    channels: Sequence[str],
    smtp_port: int,
    hook_url: str,
    grace: str = "5s",
    http_timeout: str = "5s",
    fetch_articles: str = "false",
) -> Path:
    """A fast daemon config: 1 s tick and polls, the rule ``hamas`` to an immediate digest."""
    feed_lines = [f"  - {{name: {name}, url: {json.dumps(url)}}}" for name, url in feeds.items()]
    path.write_text(
        f"""storage: {json.dumps(storage)}
http:
  allow_networks: ["127.0.0.1/32"]
  timeout: {http_timeout}
  connect_timeout: 2s
defaults: {{poll_interval: 1s, min_interval: 1s, fetch_articles: {fetch_articles}, backfill: 3650d}}
daemon: {{tick: 1s, shutdown_grace: {grace}, watch_config: false}}
delivery: {{lease: 3s, backoff: 1s, max_backoff: 2s}}
feeds:
{chr(10).join(feed_lines)}
rules:
  - {{name: hamas-watch, query: hamas, notify: [alerts]}}
digests:
  - {{name: alerts, immediate: true, channels: [{", ".join(channels)}]}}
channels:
  mail: {{type: email, host: 127.0.0.1, port: {smtp_port}, tls: none,
          from: "Monitor <monitor@example.org>", to: [desk@example.org], timeout: 5s}}
  hook: {{type: webhook, url: {json.dumps(hook_url)}, secret: "{SECRET}"}}
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Rig:
    """Everything one crash scenario needs, on loopback: feeds, receivers, a daemon, state."""

    tmp: Path
    farm: Farm
    smtp: SmtpReceiver
    hook: WebhookInbox
    wire: Newswire
    storage: str
    runner: DaemonRunner = field(init=False)
    config: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.tmp / "config.yaml"
        self.runner = DaemonRunner(self.config, self.tmp / "daemon.log")

    @property
    def sqlite_file(self) -> Path | None:
        prefix = "sqlite:///"
        return Path(self.storage[len(prefix) :]) if self.storage.startswith(prefix) else None

    def configure(self, feeds: Iterable[str], channels: Sequence[str], **kwargs: str) -> None:
        write_config(
            self.config,
            storage=self.storage,
            feeds={name: self.farm.url(f"/feeds/{name}") for name in feeds},
            channels=channels,
            smtp_port=self.smtp.port,
            hook_url=self.farm.url(HOOK_PATH),
            **kwargs,
        )

    def deliveries(self, channel: str) -> list[Delivery]:
        return mail_deliveries(self.smtp) if channel == "mail" else hook_deliveries(self.hook)

    def complete(self, channels: Sequence[str], expected: set[str]) -> bool:
        """Every story published, every expected one arrived, the outbox settled."""
        return (
            self.wire.all_published()
            and all(arrived(self.deliveries(c)) >= expected for c in channels)
            and outbox_settled(self.storage)
        )

    def wait_complete(self, channels: Sequence[str], expected: set[str], timeout: float) -> None:
        try:
            wait_for(lambda: self.complete(channels, expected), timeout, "every alert")
        except AssertionError as exc:
            got = {c: sorted(arrived(self.deliveries(c))) for c in channels}
            raise AssertionError(f"{exc}; arrived {got}\n{self.runner.tail()}") from None

    def check(self, channels: Sequence[str], expected: set[str]) -> list[Verdict]:
        """The delivery contract on every channel, and a sound SQLite file."""
        verdicts = [check_channel(c, self.deliveries(c), expected) for c in channels]
        if self.sqlite_file is not None:
            assert sqlite_integrity(self.sqlite_file) == "ok"
        return verdicts
