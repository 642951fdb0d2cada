"""Digest runs: from the queued matches of a digest to outbox rows, in one transaction.

A run reads what is pending for the digest, drops what the digest already sent within
``delivery.dedupe_window``, builds and renders it (``monitor.digests``), and then records,
in ONE ``Store.record_digest_run`` transaction: the run (its key is unique), every queue item
it consumed, and one outbox row per channel of the digest. Nothing is sent here; the relay
does that. A run whose key was already recorded changes nothing, so re-running a slot after
a crash or a restart is harmless.

An empty digest (nothing pending, or nothing left after de-duplication) creates no outbox
row unless the digest has ``send_empty``; a run that consumed queue items is still recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from monitor.config.schema import Config, Digest
from monitor.crashpoints import crashpoint
from monitor.delivery.outbox import immediate_run_key, outbox_key, outbox_payload
from monitor.digests import BuiltDigest, Templates, build_digest, render_message
from monitor.model import Message
from monitor.store import OutboxRecord, Store

RunStatus = Literal["nothing", "duplicate", "consumed", "queued"]


@dataclass(frozen=True)
class DigestRun:
    """What a run did.

    ``status``: ``nothing`` (nothing pending: no run recorded), ``duplicate`` (the run key
    was recorded before: nothing done), ``consumed`` (run recorded, queue consumed, nothing
    to send), ``queued`` (run recorded and ``keys`` added to the outbox).
    """

    digest: str
    run_key: str | None
    status: RunStatus
    stories: int = 0
    more: int = 0
    consumed: int = 0
    already_sent: int = 0
    keys: tuple[str, ...] = ()

    @property
    def queued(self) -> bool:
        return self.status == "queued"


class UnknownDigestError(KeyError):
    """No digest of that name in the config."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        names = ", ".join(sorted(known)) or "none configured"
        self.message = f"no digest named {name!r} (digests: {names})"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def digest_config(config: Config, name: str) -> Digest:
    """The digest ``name`` of ``config``; raises ``UnknownDigestError``."""
    for digest in config.digests:
        if digest.name == name:
            return digest
    raise UnknownDigestError(name, (d.name for d in config.digests))


def build_pending(store: Store, config: Config, name: str, *, now: datetime) -> BuiltDigest:
    """The digest ``name`` built from what is pending for it (nothing is recorded)."""
    digest = digest_config(config, name)
    entries = store.pending_digest(name)
    sent = store.digest_sent_since(name, now - config.delivery.dedupe_window) if entries else []
    return build_digest(digest, entries, now=now, sent=sent, rules=config.rules)


def digest_records(digest: Digest, run_key: str, message: Message) -> tuple[OutboxRecord, ...]:
    """One outbox row per channel of ``digest`` for the run ``run_key``."""
    return tuple(
        OutboxRecord(
            key=outbox_key(run_key, channel),
            channel=channel,
            payload=outbox_payload(message, channel),
            digest=digest.name,
        )
        for channel in digest.channels
    )


def run_digest(
    store: Store,
    config: Config,
    templates: Templates,
    name: str,
    *,
    now: datetime,
    run_key: str | None = None,
) -> DigestRun:
    """Run digest ``name`` at ``now`` under ``run_key``.

    ``run_key`` None derives the key from the queue items consumed (immediate digests): the
    run then needs something pending. Raises ``UnknownDigestError``, and ``TemplateProblem``
    when a template fails (nothing is recorded then; the queue stays for the next run).
    """
    digest = digest_config(config, name)
    entries = store.pending_digest(name)
    if not entries and (run_key is None or not digest.send_empty):
        return DigestRun(name, run_key, "nothing")
    sent = store.digest_sent_since(name, now - config.delivery.dedupe_window) if entries else []
    built = build_digest(digest, entries, now=now, sent=sent, rules=config.rules)
    if run_key is None:  # then something is pending
        newest = max(entries, key=lambda e: e.queue_id)
        run_key = immediate_run_key(name, newest.queue_id, newest.enqueued_at)
    key = run_key
    records: tuple[OutboxRecord, ...] = ()
    if built.send:
        records = digest_records(digest, key, render_message(built, templates))
    crashpoint("digest.assembly")
    run_id = store.record_digest_run(name, key, now=now, queue_ids=built.queue_ids, outbox=records)
    crashpoint("digest.after_commit", when=run_id is not None)
    if run_id is None:
        return DigestRun(name, key, "duplicate")
    return DigestRun(
        digest=name,
        run_key=key,
        status="queued" if records else "consumed",
        stories=built.story_count,
        more=built.more,
        consumed=len(built.queue_ids),
        already_sent=built.already_sent,
        keys=tuple(r.key for r in records),
    )


def flush_immediate(
    store: Store,
    config: Config,
    templates: Templates,
    *,
    now: datetime,
    names: Iterable[str] | None = None,
) -> list[DigestRun]:
    """Run every immediate digest (or those in ``names``) that has something pending.

    Cheap when nothing is pending: one indexed query per immediate digest. The poller calls
    it after each poll, with the digests that poll queued items for.
    """
    wanted = None if names is None else set(names)
    runs = []
    for digest in config.digests:
        if digest.immediate and (wanted is None or digest.name in wanted):
            run = run_digest(store, config, templates, digest.name, now=now)
            if run.status != "nothing":
                runs.append(run)
    return runs
