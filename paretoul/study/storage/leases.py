"""Several launchers, one database: who owns a running trial, and who may claim the next one.

Every trial records the launcher that claimed it (``host:pid:start``). A launcher writes a
heartbeat into each arm's study every :data:`HEARTBEAT_S` seconds. A RUNNING or queued
trial is *stale* — its launcher is gone and it will never finish — when its launcher is
a dead process on this host, or its heartbeat has not changed for :data:`STALE_AFTER_S`
(plus the study's ``storage_retry_s``) by the observer's clock, or it has none (a launcher
that ends removes its heartbeat; it beats before it claims anything). Stale
trials are marked ``interrupted`` (they use no budget) and run again; trials of a live
launcher are left alone, so ``resume`` is safe while another launcher is working.

Claims are serialised by a database-level lock (PostgreSQL advisory lock, MySQL
``GET_LOCK``, a file lock next to an SQLite file): counting an arm's trials and creating
the next one is atomic across launchers, so their union honours every budget exactly.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna

from paretoul.study.storage import optuna_internals, store

log = logging.getLogger("paretoul")

LAUNCHER = "launcher"
HEARTBEAT_S = 10.0
STALE_AFTER_S = 90.0
"""A launcher on another host is presumed dead after this long without a heartbeat."""
_ALIVE = "alive:"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a reused PID apart)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]


def _host() -> str:
    """This machine *and* PID namespace: containers sharing a hostname are told apart."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
        pidns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        boot, pidns = "?", 0
    return f"{socket.gethostname()}/{boot}/{pidns}"


_ME: str | None = None


def launcher_id() -> str:
    """This process as a launcher: ``host/boot/pidns:pid:start``."""
    global _ME
    if _ME is None or _ME.split(":")[1] != str(os.getpid()):
        _ME = f"{_host()}:{os.getpid()}:{_start_ticks(os.getpid()) or int(time.time())}"
    return _ME


def local_launcher_alive(launcher: str) -> bool | None:
    """True/False for a launcher on this host; None when it ran elsewhere (ask its heartbeat)."""
    try:
        host, pid, start = launcher.rsplit(":", 2)
    except ValueError:
        return False
    if host != _host():
        return None
    ticks = _start_ticks(int(pid))
    return ticks is not None and ticks == start


# (study, launcher) -> (last heartbeat value seen, monotonic time it was first seen). A remote
# launcher is judged by whether its heartbeat still *changes* by our own clock, so clocks of
# different hosts never need to agree.
_SEEN: dict[tuple[str, str], tuple[Any, float]] = {}


def _heartbeat_stopped(study: optuna.Study, owner: str, stale_after: float) -> bool:
    beat = study.user_attrs.get(_ALIVE + owner)
    if beat == 0 or (beat is None and owner != "unattributed"):
        # it ended cleanly (removed its beat; 0 from a storage that cannot delete, or an older
        # paretoul): whatever it left unfinished is orphaned. A launcher beats before it claims.
        return True
    key, now = (study.study_name, owner), time.monotonic()
    last = _SEEN.get(key)
    if last is None or last[0] != beat:
        _SEEN[key] = (beat, now)
        return False
    return now - last[1] > stale_after


def is_stale(study: optuna.Study, trial: optuna.trial.FrozenTrial, mine: set[int],
             stale_after: float = STALE_AFTER_S) -> bool:
    """Whether an unfinished trial will never be finished by anyone (see the module docstring).

    ``mine``: database ids of this launcher's trials in flight; any other trial claimed by
    this launcher is an orphan (a claim cut short by a lost connection, an earlier run of
    this process)."""
    owner = trial.user_attrs.get(LAUNCHER)
    if owner is None:  # claimed by a paretoul before leases, or never attributed
        owner = "unattributed"
    if owner == launcher_id():
        return optuna_internals.trial_id(trial) not in mine
    alive = local_launcher_alive(owner)
    if alive is not None:
        return not alive
    return _heartbeat_stopped(study, owner, stale_after)


def reap(study: optuna.Study, mine: set[int] | None = None, stale_after: float = STALE_AFTER_S) -> int:
    """Mark the stale RUNNING/WAITING trials of ``study`` interrupted; return how many."""
    states = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    stale = [t for t in study.get_trials(deepcopy=False, states=states)
             if is_stale(study, t, mine or set(), stale_after)]
    for t in stale:
        store.mark_interrupted(study, t)
    return len(stale)


class Heartbeat:
    """A daemon thread that keeps this launcher's trials alive in the eyes of other launchers."""

    def __init__(self, studies: list[optuna.Study], interval: float = HEARTBEAT_S) -> None:
        self.studies = studies
        self.interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="paretoul-heartbeat", daemon=True)

    def beat(self, value: float | None = None) -> None:
        key = _ALIVE + launcher_id()
        with self._lock:  # the final "gone" mark is never overtaken by a late beat
            if value is None and self._stop.is_set():
                return
            for s in self.studies:
                try:
                    s.set_user_attr(key, time.time() if value is None else value)
                except Exception as e:  # the main path reports an unreachable database
                    log.debug("heartbeat: %s", e)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def __enter__(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:  # gone: the attribute is removed (others read a missing beat as gone)
            for s in self.studies:
                try:
                    if not optuna_internals.remove_study_user_attr(s, _ALIVE + launcher_id()):
                        s.set_user_attr(_ALIVE + launcher_id(), 0.0)  # a storage without deletion
                except Exception as e:
                    log.debug("heartbeat: %s", e)


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def claim_lock(storage: optuna.storages.BaseStorage, name: str) -> Iterator[None]:
    """Hold the study-wide claim lock of ``name`` (blocking) for the ``with`` block."""
    engine = getattr(storage, "engine", None)
    dialect = engine.dialect.name if engine is not None else ""
    if dialect == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    if dialect in ("postgresql", "mysql"):
        from sqlalchemy import text

        take, give = (("SELECT pg_advisory_lock(:k)", "SELECT pg_advisory_unlock(:k)")
                      if dialect == "postgresql" else
                      ("SELECT GET_LOCK(:k, -1)", "SELECT RELEASE_LOCK(:k)"))
        key: int | str = _lock_key(name) if dialect == "postgresql" else f"paretoul:{name}"[:64]
        with engine.connect() as conn:
            conn.execute(text(take), {"k": key})
            try:
                yield
            finally:
                try:
                    conn.execute(text(give), {"k": key})
                    conn.commit()
                except Exception:  # never pool a connection that may still hold the lock:
                    conn.invalidate()  # closing it releases the lock server-side
        return
    log.warning("storage: no lock for %s databases; run one launcher per study", dialect or "this")
    yield
