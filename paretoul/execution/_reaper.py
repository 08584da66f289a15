"""Kill the Ray processes of a launcher that died without shutting Ray down.

Ray's own fate-sharing stops most of a local cluster when the driver that started it is
killed (SIGKILL), but not all: its per-node agents were seen to outlive it as orphans.
The launcher starts this watcher (``python -I .../_reaper.py PID...``: stdin pipe, stdlib only) in a session
of its own, with the PIDs of the Ray processes it started (Ray's own list), holding a pipe
to its stdin. The watcher notes those processes and every process descended from them (the
workers and agents); when the pipe closes — the launcher shut Ray down, or died — it kills
those still alive (checked by PID *and* start time, so a reused PID is never hit). Nothing
else the launcher runs (a notebook's other children, say) is ever touched.
"""

from __future__ import annotations

import os
import select
import signal
import sys
from pathlib import Path


def _procs() -> dict[int, tuple[int, str, str]]:
    """pid -> (ppid, start ticks, command line) for every live process."""
    out = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            out[int(d.name)] = (int(fields[1]), fields[19], cmd)
    return out


def _descendants(root: int, procs: dict[int, tuple[int, str, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def watch(roots: list[int], poll_s: float = 0.5) -> int:
    """Track ``roots`` and their descendants until stdin closes; kill the survivors."""
    seen: dict[int, str] = {}  # pid -> start ticks
    while True:
        procs = _procs()
        for root in roots:
            for pid in {root} | _descendants(root, procs):
                if pid in procs and pid != os.getpid():
                    seen.setdefault(pid, procs[pid][1])
        ready, _, _ = select.select([sys.stdin], [], [], poll_s)
        if ready and not sys.stdin.buffer.read1(4096):
            break
    # The launcher closes the pipe after ray.shutdown() returned, or died: no need to wait.
    killed = 0
    procs = _procs()
    for pid, ticks in seen.items():
        if pid in procs and procs[pid][1] == ticks:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def ray_pids() -> list[int]:
    """The processes of the local Ray node this process started (Ray's own record)."""
    try:
        from ray._private import worker

        node = worker._global_node
        return [info.process.pid for infos in node.all_processes.values() for info in infos
                if getattr(info.process, "pid", None)]
    except Exception:  # a Ray without this record: nothing to watch
        return []


if __name__ == "__main__":
    watch([int(a) for a in sys.argv[1:]])
