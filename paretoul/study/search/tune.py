"""The one Ray Tune searcher that serves every arm of a study, and its stopper.

It hands out the arms' trials in turn, claims each under the study's database lock
(:mod:`paretoul.study.storage.leases`), retries every database call while the database is away
and, once it is lost for good, ends the Tune run through :class:`StopWhenLost`.
"""

from __future__ import annotations

import time
from typing import Any

import optuna
from ray.tune.search import Searcher
from ray.tune.stopper import Stopper

from paretoul.study.search.base import ArmSearcher
from paretoul.study.storage import leases, store


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """Undo Tune's ``a/b`` key flattening of nested result dicts."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split("/")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


class StudySearcher(Searcher):
    """One Tune searcher over all arms: serves them in turn until every arm's budget is
    finished — including trials other launchers hold, which are rerun here if they die.

    Each claim happens under the study's database lock (see :mod:`paretoul.study.storage.leases`);
    every database call is retried while the database is unreachable, for up to
    ``retry_s`` seconds, then the study stops with :class:`~paretoul.study.storage.store.StorageLost`.
    """

    def __init__(self, arms: list[ArmSearcher], storage: optuna.storages.BaseStorage, study: str,
                 url: str, retry_s: float) -> None:
        super().__init__()
        self.arms = arms
        self.storage, self.study_name, self.url, self.retry_s = storage, study, url, retry_s
        self._owner: dict[str, ArmSearcher] = {}
        self._numbers: dict[str, int] = {}
        self.interrupted: int | None = None
        """The signal that interrupted the study (set by the launcher's handler): trials still in
        flight are then recorded as interrupted, to be run again, and no new ones are claimed."""
        self._next = 0
        self._deferred: dict[str, tuple[ArmSearcher, dict[str, Any] | None]] = {}
        self._last_reap = time.monotonic()
        self._idle_until = 0.0
        self.reaped = 0
        self.lost: store.StorageLost | None = None
        self._hard_stops: dict[str, str] = {}
        # Another launcher's heartbeat may pause while the database is away: never take its
        # trials for dead before our own retries would have given up.
        self.stale_after = max(leases.STALE_AFTER_S, retry_s + leases.STALE_AFTER_S)

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True

    def _db(self, fn: Any, what: str) -> Any:
        """``fn()`` retried while the database is away; once it is lost for good, nothing more
        is attempted (Tune is stopped by :class:`StopWhenLost`; never raise into Tune, which
        would print tracebacks and call us again)."""
        if self.lost is not None:
            return None
        try:
            return store.retrying(fn, self.url, self.retry_s, what)
        except store.StorageLost as e:
            self.lost = e
            return None

    def reap(self) -> int:
        """Mark trials of launchers that are gone as interrupted (under the claim lock) — and
        this launcher's own that are in flight nowhere (a claim cut short by a lost
        connection, or a launch of this process that stopped)."""
        with leases.claim_lock(self.storage, self.study_name):
            n = sum(leases.reap(a.study, a.pending_ids(), self.stale_after) for a in self.arms)
        self._last_reap = time.monotonic()
        self.reaped += n
        return n

    def trial_number(self, trial_id: str) -> int | None:
        """The arm-study trial number of a Tune trial this launcher claimed."""
        return self._numbers.get(trial_id)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.interrupted is not None:
            return Searcher.FINISHED
        if time.monotonic() < self._idle_until:  # waiting on other launchers: poll gently
            return None
        attempts = 0

        def claim() -> dict[str, Any] | str | None:
            nonlocal attempts
            attempts += 1
            if attempts > 1:  # the previous attempt may have left a half-made claim behind
                self.reap()
            return self._suggest(trial_id)

        out = self._db(claim, "claiming a trial")
        return Searcher.FINISHED if self.lost is not None else out

    def __getstate__(self) -> dict[str, Any]:
        """Ray Tune pickles its searcher into ``tuner.pkl``: keep the database URL (which may
        hold a password) and connections out of it. paretoul never restores a Tune run —
        the database is the study's state — so nothing else is needed there."""
        return {"study_name": self.study_name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if time.monotonic() - self._last_reap > leases.HEARTBEAT_S:
            self.reap()
        n = len(self.arms)
        waiting = False
        with leases.claim_lock(self.storage, self.study_name):
            for k in range(n):
                arm = self.arms[(self._next + k) % n]
                params = arm.suggest(trial_id)
                if params is None:
                    waiting = waiting or arm.unfinished()
                    continue
                self._owner[trial_id] = arm
                self._numbers[trial_id] = arm.pending_number(trial_id)
                self._next = (self._next + k + 1) % n
                config = {"arm": arm.name, "method": arm.method, "params": params}
                run = arm.pending_run(trial_id)
                if run is not None:  # a fidelity arm: its rung, and the seeds this run adds
                    config.update(rung=run[0], seeds=run[1], full=run[0] == arm.top_rung)
                return config
        if waiting and not self._owner:  # only other launchers' trials are in flight: wait for
            self._idle_until = time.monotonic() + 1.0  # them (reaped and rerun if they die)
        return None if waiting or self._deferred else Searcher.FINISHED

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        arm = self._owner.get(trial_id)
        if arm is None:
            return
        if result is not None:
            result = _unflatten(result)  # Tune hands searchers flattened results
        if not error and "trial_s" not in (result or {}):
            # stopped before it reported (the study was interrupted): run it again later
            self._db(lambda: arm.interrupt(trial_id), "recording an interrupted trial")
            del self._owner[trial_id]
            return
        if error:  # the message arrives right after, through on_trial_error of the callback
            self._deferred[trial_id] = (arm, result)
            del self._owner[trial_id]
            return
        self._db(lambda: arm.complete(trial_id, result, None), "recording a trial")
        del self._owner[trial_id]

    def hard_stopped(self, trial_id: str, reason: str) -> None:
        """The driver is ending this trial's worker (:mod:`paretoul.execution.hard_stop`): record
        ``reason`` when its error arrives, instead of Ray's message about a dead actor."""
        self._hard_stops[trial_id] = reason

    def record_error(self, trial_id: str, message: str) -> bool:
        """Called by the progress callback with a failed trial's error message; returns whether
        it was recorded as failed (False: the study is being interrupted — a worker that died
        of the signal too — and the trial is recorded as interrupted, to be run again)."""
        arm, result = self._deferred.pop(trial_id, (None, None))
        if arm is None:
            return True
        message = self._hard_stops.pop(trial_id, message)
        if self.interrupted is not None:
            self._db(lambda: arm.interrupt(trial_id), "recording an interrupted trial")
            return False
        self._db(lambda: arm.complete(trial_id, result, message), "recording a failed trial")
        return True

    def flush(self) -> None:
        """At the end of the Tune run: record deferred errors; after an interruption, mark the
        trials Tune stopped (it tells searchers nothing of those) as interrupted."""
        for trial_id in list(self._deferred):
            self.record_error(trial_id, "the trial failed (no message from Ray)")
        if self.interrupted is not None:
            for trial_id, arm in list(self._owner.items()):
                self._db(lambda a=arm, t=trial_id: a.interrupt(t), "recording an interrupted trial")
                del self._owner[trial_id]


class StopWhenLost(Stopper):
    """Ends the Tune run (every trial stopped) once the searcher has lost the database or the
    study was interrupted (SIGINT, SIGTERM)."""

    def __init__(self, searcher: StudySearcher) -> None:
        self.searcher = searcher

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.searcher.lost is not None or self.searcher.interrupted is not None
