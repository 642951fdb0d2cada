"""CPU time and resident memory of a process and its descendants, read from ``/proc``.

A daemon's work is spread over itself, its fork server and its worker processes; these
helpers add them up. CPU time counts each process's own time plus what its reaped children
used (``cutime``/``cstime``), so a worker recycled mid-run still counts.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state is [0])."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """``root`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system seconds of ``pids``, their reaped children included."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += sum(int(v) for v in fields[11:15])
    return total / TICK


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 once it is gone)."""
    fields = _stat_fields(pid)
    return int(fields[21]) * PAGE if fields is not None else 0


def pss_bytes(pid: int) -> int:
    """Proportional set size of one process: resident memory with shared pages divided among
    the processes sharing them, so the sizes of a tree add up (0 once it is gone)."""
    try:
        text = (PROC / str(pid) / "smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_cpu(root: int, exclude: frozenset[int] = frozenset()) -> float:
    """CPU seconds of ``root``'s tree, leaving out the subtrees of ``exclude``."""
    skip = {p for pid in exclude for p in descendants(pid)}
    return cpu_seconds([p for p in descendants(root) if p not in skip])


def tree_pss(root: int) -> int:
    """Memory of ``root`` and its descendants (proportional set sizes, summed)."""
    return sum(pss_bytes(pid) for pid in descendants(root))
