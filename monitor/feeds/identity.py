"""Which entries of a polled feed are new, and which of those to process (pure).

Identity of an entry (``entry_identity``):
  its GUID, stripped; else its canonical link (``monitor.urls.canonicalize_url``, but
  keeping the fragment: comment feeds tell items apart by ``#comment-N`` only); else
  ``"h:"`` + sha256 of its title and summary (NFKC, case-folded, whitespace collapsed).
  An identity longer than 512 characters is replaced by ``"h:"`` + its sha256.

Selection policy (``select_new``), applied in this order:
  1. Duplicates: entries with the same identity in one document collapse to the first
     (``duplicates`` counts the rest). Identities already in ``seen`` are ignored.
  2. Baseline: on a feed's first poll, unseen entries dated before ``now - backfill`` or not
     dated at all go to ``baseline``: recorded as seen, never processed. Later polls have no
     age filter: an entry first seen now is new, whatever its date (the daemon may have been
     down). An entry's date is ``published``, else ``updated``; future dates count as recent.
  3. Churn guard: on a later poll, when the document has at least ``churn_min_entries``
     entries and more than ``churn_ratio`` of them are unseen, the feed has probably
     regenerated its GUIDs; ``churn`` is set and, as on a first poll, only entries dated
     within the backfill window stay candidates (the rest go to ``held_back``).
  4. Flood guard: when more than ``max_new`` candidates remain, the ``max_new`` newest (by
     date; undated after dated, then document order) are processed and the rest go to
     ``held_back`` (recorded as seen, not processed); ``flood`` is set.
Every identity in ``new``, ``baseline`` and ``held_back`` is to be recorded as seen
(``Selection.to_record``; ``record_only`` is baseline + held back); ``new`` keeps document
order.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from monitor.model import FeedEntry
from monitor.urls import canonicalize_url

MAX_IDENTITY_LENGTH = 512
_SPACE = re.compile(r"\s+")


def entry_identity(entry: FeedEntry) -> str:
    """The stable key of an entry within its feed (see the module docstring)."""
    guid = (entry.guid or "").strip()
    link = (entry.link or "").strip()
    if guid:
        identity = guid
    elif link:
        identity = canonicalize_url(link)
        fragment = urlsplit(link).fragment
        if fragment and "#" not in identity:
            identity = f"{identity}#{fragment}"
    else:
        return "h:" + _sha256(_normalise(entry.title) + "\n" + _normalise(entry.summary))
    return identity if len(identity) <= MAX_IDENTITY_LENGTH else "h:" + _sha256(identity)


@dataclass(frozen=True)
class Selection:
    """The decision for one poll: what to process and what only to record as seen."""

    new: tuple[tuple[str, FeedEntry], ...]
    baseline: tuple[str, ...] = ()
    held_back: tuple[str, ...] = ()
    duplicates: int = 0
    flood: bool = False
    churn: bool = False

    @property
    def record_only(self) -> tuple[str, ...]:
        """Identities to store as seen without processing: baseline and held back."""
        return self.baseline + self.held_back

    @property
    def to_record(self) -> tuple[str, ...]:
        """Every identity to store as seen after this poll."""
        return tuple(identity for identity, _ in self.new) + self.record_only


def select_new(
    entries: Sequence[FeedEntry],
    seen: Set[str],
    *,
    first_poll: bool,
    now: datetime,
    backfill: timedelta,
    max_new: int,
    churn_ratio: float = 0.8,
    churn_min_entries: int = 10,
) -> Selection:
    """Decide which entries of one poll are new to process (policy in the module docstring)."""
    unique: dict[str, FeedEntry] = {}
    for entry in entries:
        unique.setdefault(entry_identity(entry), entry)
    duplicates = len(entries) - len(unique)
    unseen = [(identity, entry) for identity, entry in unique.items() if identity not in seen]

    cutoff = now - backfill
    churn = (
        not first_poll
        and len(unique) >= churn_min_entries
        and len(unseen) > churn_ratio * len(unique)
    )
    baseline: list[str] = []
    held_back: list[str] = []
    candidates: list[tuple[str, FeedEntry]] = []
    for identity, entry in unseen:
        date = entry_date(entry)
        if (first_poll or churn) and (date is None or date < cutoff):
            (baseline if first_poll else held_back).append(identity)
        else:
            candidates.append((identity, entry))

    flood = len(candidates) > max_new
    if flood:
        order = sorted(range(len(candidates)), key=lambda i: _newest_first(candidates[i][1], i))
        keep = set(order[:max_new])
        held_back += [identity for i, (identity, _) in enumerate(candidates) if i not in keep]
        candidates = [pair for i, pair in enumerate(candidates) if i in keep]
    return Selection(
        new=tuple(candidates),
        baseline=tuple(baseline),
        held_back=tuple(held_back),
        duplicates=duplicates,
        flood=flood,
        churn=churn,
    )


def entry_date(entry: FeedEntry) -> datetime | None:
    """The date an entry claims: published, else updated."""
    return entry.published or entry.updated


def _newest_first(entry: FeedEntry, index: int) -> tuple[bool, float, int]:
    date = entry_date(entry)
    return (date is None, -date.timestamp() if date else 0.0, index)


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
