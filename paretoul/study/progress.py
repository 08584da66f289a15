"""A Tune callback that shows per-arm progress and passes error messages to the searcher."""

from __future__ import annotations

import sys
import time
from typing import Any

from ray.tune import Callback


class Progress(Callback):
    """Prints one line per finished trial (unless quiet) and keeps the counts."""

    def __init__(self, searcher: Any, budgets: dict[str, int], quiet: bool = False) -> None:
        self.searcher = searcher
        self.budgets = budgets
        self.quiet = quiet
        self.done = 0
        self.failed = 0
        self.compute_s = 0.0
        self.per_arm: dict[str, list[int]] = {a: [0, 0] for a in budgets}
        self.t0 = time.perf_counter()

    def _line(self, trial: Any, what: str) -> None:
        if self.quiet:
            return
        arm = trial.config.get("arm", "?")
        ok, bad = self.per_arm.get(arm, [0, 0])
        elapsed = time.perf_counter() - self.t0
        total = sum(self.budgets.values())
        done = sum(a + b for a, b in self.per_arm.values())
        sys.stdout.write(f"[{done:>3}/{total}] {elapsed:6.1f}s  {arm:<24} {ok + bad:>3}/"
                         f"{self.budgets.get(arm, 0):<3} {what}\n")
        sys.stdout.flush()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        arm = trial.config.get("arm", "?")
        self.compute_s += float(result.get("trial_s", 0.0))
        self.done += 1
        counts = self.per_arm.setdefault(arm, [0, 0])
        if result.get("error"):
            counts[1] += 1
            self.failed += 1
            self._line(trial, f"failed: {result['error'][:80]}")
        else:
            counts[0] += 1
            objs = ", ".join(f"{k} {result[k]:.2f}" for k in ("forget_gap", "retain_gap") if k in result)
            self._line(trial, f"{result.get('trial_s', 0):.1f}s  {objs}")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        err = trial.get_error()
        message = str(err).strip().splitlines()[-1] if err else "the trial's worker failed"
        self.searcher.record_error(trial.trial_id, message[:2000])
        arm = trial.config.get("arm", "?")
        self.per_arm.setdefault(arm, [0, 0])[1] += 1
        self.done += 1
        self.failed += 1
        self._line(trial, f"failed: {message[:80]}")
