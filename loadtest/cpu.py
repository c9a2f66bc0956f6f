"""CPU time of a process tree, read from ``/proc``: the bench's per-decision cost.

Why CPU time and not only throughput: on a shared 2-core machine a neighbour's job
takes wall-clock time from every phase, but the CPU seconds a process spends per
request move far less (docs/performance.md). ``utime + stime`` of every process in
the tree (``friction serve --workers 2`` and MLServer run children) is summed; a
process that ends between the two readings is missed, which the bench avoids by
reading around a phase in which nothing starts or stops.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses


def tree(root: int) -> set[int]:
    """``root`` and every live process below it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(parents.get(pid, []))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds spent so far by ``pids`` (their own, not reaped children's)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / TICKS
