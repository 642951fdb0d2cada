"""Delivery: digest runs into the outbox, the relay that sends it, schedules, dead letters.

::

    run_digest(store, config, templates, "daily", now=now, run_key=slot_run_key("daily", slot))
    flush_immediate(store, config, templates, now=now)         # after each poll
    await relay_once(store, channels, RetryPolicy.from_config(config.delivery), now=now)

``Delivery`` bundles them for the daemon and the commands (channels built once per config).
"""

from monitor.delivery.digests import (
    DigestRun,
    UnknownDigestError,
    build_pending,
    flush_immediate,
    run_digest,
)
from monitor.delivery.outbox import manual_run_key, outbox_key, slot_run_key
from monitor.delivery.policy import Decision, RetryPolicy, decide
from monitor.delivery.relay import RelayReport, RowOutcome, relay_once
from monitor.delivery.schedule import due_slot, run_due_digest
from monitor.delivery.service import Delivery

__all__ = [
    "Decision",
    "Delivery",
    "DigestRun",
    "RelayReport",
    "RetryPolicy",
    "RowOutcome",
    "UnknownDigestError",
    "build_pending",
    "decide",
    "due_slot",
    "flush_immediate",
    "manual_run_key",
    "outbox_key",
    "relay_once",
    "run_digest",
    "run_due_digest",
    "slot_run_key",
]
