"""The hard stop behind the cooperative time limit: end the worker of a trial that never checks it.

A trial past ``trial_timeout_s`` normally stops itself at its next training step (see
:mod:`paretoul.training.deadline`). One stuck where it cannot check the deadline (a native call
that never returns to Python, a hung collective) is ended from the driver once it is
``trial_grace_s`` past the limit: its Ray actor is killed, Tune does not retry it, and the
searcher records it failed with a ``TrialTimeout`` reason instead of Ray's.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ray.tune import Callback


class HardStop(Callback):
    """Kills the actor of a trial running longer than ``limit_s + grace_s`` (driver's clock, from
    the trial's start, which includes starting its worker)."""

    def __init__(self, searcher: Any, limit_s: float, grace_s: float) -> None:
        self.searcher, self.limit_s, self.grace_s = searcher, limit_s, grace_s
        self._started: dict[str, float] = {}
        self.stopped: list[str] = []

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._started[trial.trial_id] = time.monotonic()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._started.pop(trial.trial_id, None)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._started.pop(trial.trial_id, None)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if trial.trial_id in self.stopped:  # should not happen: max_failures was set to 0
            sys.stderr.write(f"paretoul: warning: Ray Tune is retrying hard-stopped trial "
                             f"{trial.trial_id}; its result will be ignored\n")
        else:  # a retry after its worker died (max_failures): its clock starts again
            self._started[trial.trial_id] = time.monotonic()

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        now = time.monotonic()
        for trial in trials:
            started = self._started.get(trial.trial_id)
            if started is None or now - started <= self.limit_s + self.grace_s:
                continue
            actor = getattr(trial.temporary_state, "ray_actor", None)
            if actor is None:
                continue
            del self._started[trial.trial_id]
            self._end(trial, actor, now - started)

    def _end(self, trial: Any, actor: Any, elapsed: float) -> None:
        import ray

        self.searcher.hard_stopped(trial.trial_id, (
            f"TrialTimeout: stopped hard after {elapsed:.0f} s: still running "
            f"{self.grace_s:g} s past trial_timeout_s={self.limit_s:g} without reaching a step "
            "boundary; its worker was ended"))
        trial.max_failures = 0  # a trial stuck once would be stuck again: no retry
        self.stopped.append(trial.trial_id)
        ray.kill(actor, no_restart=True)
