"""Several launchers, one database: who owns a running trial, and who may claim the next one.

Every trial records the launcher that claimed it (``host:pid:start``). A launcher writes a
heartbeat into each arm's study every :data:`HEARTBEAT_S` seconds. A RUNNING or queued
trial is *stale* — its launcher is gone and it will never finish — when its launcher is
a dead process on this host, or its heartbeat is older than :data:`STALE_AFTER_S`. Stale
trials are marked ``interrupted`` (they use no budget) and run again; trials of a live
launcher are left alone, so ``resume`` is safe while another launcher is working.

Claims are serialised by a database-level lock (PostgreSQL advisory lock, MySQL
``GET_LOCK``, a file lock next to an SQLite file): counting an arm's trials and creating
the next one is atomic across launchers, so their union honours every budget exactly.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import optuna

from paretoul.study import store

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


_ME: str | None = None


def launcher_id() -> str:
    """This process as a launcher: ``host:pid:start``."""
    global _ME
    if _ME is None or _ME.split(":")[1] != str(os.getpid()):
        _ME = f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid()) or int(time.time())}"
    return _ME


def local_launcher_alive(launcher: str) -> bool | None:
    """True/False for a launcher on this host; None when it ran elsewhere (ask its heartbeat)."""
    try:
        host, pid, start = launcher.rsplit(":", 2)
    except ValueError:
        return False
    if host != socket.gethostname():
        return None
    ticks = _start_ticks(int(pid))
    return ticks is not None and ticks == start


def is_stale(study: optuna.Study, trial: optuna.trial.FrozenTrial, now: float | None = None) -> bool:
    """Whether an unfinished trial's launcher is gone (see the module docstring)."""
    now = time.time() if now is None else now
    owner = trial.user_attrs.get(LAUNCHER)
    if owner == launcher_id():
        return False
    if owner is None:  # claimed by a paretoul before leases, or never attributed
        start = trial.datetime_start or _dt.datetime.now()
        return now - start.timestamp() > STALE_AFTER_S
    alive = local_launcher_alive(owner)
    if alive is not None:
        return not alive
    beat = study.user_attrs.get(_ALIVE + owner)
    return beat is None or beat == 0 or now - float(beat) > STALE_AFTER_S


def reap(study: optuna.Study) -> int:
    """Mark the stale RUNNING/WAITING trials of ``study`` interrupted; return how many."""
    states = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    stale = [t for t in study.get_trials(deepcopy=False, states=states) if is_stale(study, t)]
    for t in stale:
        store.mark_interrupted(study, t)
    return len(stale)


class Heartbeat:
    """A daemon thread that keeps this launcher's trials alive in the eyes of other launchers."""

    def __init__(self, studies: list[optuna.Study], interval: float = HEARTBEAT_S) -> None:
        self.studies = studies
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paretoul-heartbeat", daemon=True)

    def beat(self, value: float | None = None) -> None:
        key = _ALIVE + launcher_id()
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
        self.beat(0.0)  # 0 = gone: others need not wait for the grace period


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
                with contextlib.suppress(Exception):  # a dropped connection released it already
                    conn.execute(text(give), {"k": key})
                    conn.commit()
        return
    log.warning("storage: no lock for %s databases; run one launcher per study", dialect or "this")
    yield
