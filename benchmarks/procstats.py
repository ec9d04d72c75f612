"""Wall time and peak memory of a command run as a whole process tree (Linux ``/proc``).

:func:`measure` starts the command, polls ``/proc`` every ``interval`` seconds for the
command and all its descendants, sums their resident set sizes (``VmRSS``), and keeps the
largest sum (``peak_tree_rss``: what the machine must hold at once; a peak shorter than the
interval can be missed). From the kernel's own accounting when the process is reaped
(``wait4``) it also takes ``peak_process_rss``, the largest single process's peak RSS among
the command and its waited-for descendants (what ``/usr/bin/time -v`` prints as "Maximum
resident set size"), and the user and system CPU seconds.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measured", "measure"]


@dataclass(frozen=True)
class Measured:
    argv: tuple[str, ...]
    returncode: int
    wall_s: float
    cpu_s: float
    peak_tree_rss: int
    peak_process_rss: int
    stdout: str
    stderr_tail: str


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name is in parentheses and may contain spaces: split after the last ')'
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _memory(pid: int | str) -> tuple[int, int]:
    """(``VmRSS``, ``VmHWM``) of a process in bytes; (0, 0) once it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, hwm


def _tree_memory(root: int) -> tuple[int, int]:
    """(sum of ``VmRSS``, largest ``VmHWM``) over ``root`` and all its descendants."""
    tree = _children()
    total = largest = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        rss, hwm = _memory(pid)
        total += rss
        largest = max(largest, hwm)
        todo.extend(tree.get(pid, []))
    return total, largest


def measure(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    interval: float = 0.2,
    check: bool = True,
) -> Measured:
    """Run ``argv`` to its end and measure it; stdout is kept, stderr's last 4,000 characters.

    Raises
    ------
    subprocess.CalledProcessError
        If ``check`` and the command exits non-zero (with its stderr's tail).
    """
    own_hwm = _memory("self")[1]
    with open(os.devnull, "rb") as devnull:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.Popen(  # noqa: S603 - the benchmark's own fixed commands
                list(argv), env=dict(env) if env is not None else None, cwd=cwd,
                stdin=devnull, stdout=out, stderr=err,
            )
            peak = peak_hwm = 0
            status = None
            while status is None:
                tree_rss, tree_hwm = _tree_memory(proc.pid)
                peak, peak_hwm = max(peak, tree_rss), max(peak_hwm, tree_hwm)
                pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    status, wall = wait_status, time.perf_counter() - start
                    break
                time.sleep(interval)
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr_tail = err.read().decode("utf-8", "replace")[-4000:]
    kernel_peak = usage.ru_maxrss * 1024
    peak_process = max(peak_hwm, kernel_peak if kernel_peak > own_hwm else 0)
    result = Measured(
        argv=tuple(argv),
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_tree_rss=max(peak, peak_process),
        peak_process_rss=peak_process,
        stdout=stdout,
        stderr_tail=stderr_tail,
    )
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, list(argv), stdout, stderr_tail)
    return result
