"""A Tune callback that shows per-arm progress and passes error messages to the searcher."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback


def _error_message(trial: Any) -> str:
    """The last line of a failed trial's traceback (e.g. ``ValueError: ...``)."""
    text = None
    try:  # Tune writes the error next to the driver first, and to storage later
        path = trial.error_file
        if path and Path(path).exists():
            text = Path(path).read_text()
        if not text:
            err = trial.get_error()
            text = str(err) if err else None
    except Exception as e:  # never let reporting break the study
        return f"the trial failed ({type(e).__name__} while reading its error)"
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1] if lines else "the trial's worker failed without an error message"


class Progress(Callback):
    """Prints one line per finished trial (unless quiet) and keeps the counts."""

    def __init__(self, searcher: Any, budgets: dict[str, int], objectives: dict[str, str],
                 quiet: bool = False) -> None:
        self.searcher = searcher
        self.objectives = list(objectives)
        self.directions = objectives
        self.budgets = budgets
        self.quiet = quiet
        self.done = 0
        self.failed = 0
        self.compute_s = 0.0
        self.per_arm: dict[str, list[int]] = {a: [0, 0] for a in budgets}
        self.best: dict[str, dict[str, float]] = {}
        self.running = 0
        self.t0 = time.perf_counter()

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running += 1

    def _line(self, trial: Any, what: str) -> None:
        if self.quiet:
            return
        arm = trial.config.get("arm", "?")
        ok, bad = self.per_arm.get(arm, [0, 0])
        elapsed = time.perf_counter() - self.t0
        total = sum(self.budgets.values())
        done = sum(a + b for a, b in self.per_arm.values())
        best = ", ".join(f"{k} {v:.2f}" for k, v in self.best.get(arm, {}).items())
        sys.stdout.write(f"[{done:>3}/{total}] {elapsed:6.1f}s run {self.running}  {arm:<20} "
                         f"{ok + bad:>3}/{self.budgets.get(arm, 0):<3} fail {bad}  {what}"
                         f"{'  | best ' + best if best else ''}\n")
        sys.stdout.flush()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running = max(0, self.running - 1)
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
            best = self.best.setdefault(arm, {})
            for k in self.objectives:
                if k in result:
                    better = min if self.directions[k] == "min" else max
                    best[k] = better(best.get(k, result[k]), result[k])
            objs = ", ".join(f"{k} {result[k]:.2f}" for k in self.objectives if k in result)
            self._line(trial, f"{result.get('trial_s', 0):.1f}s  {objs}")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running = max(0, self.running - 1)
        message = _error_message(trial)
        self.searcher.record_error(trial.trial_id, message[:2000])
        arm = trial.config.get("arm", "?")
        self.per_arm.setdefault(arm, [0, 0])[1] += 1
        self.done += 1
        self.failed += 1
        self._line(trial, f"failed: {message[:80]}")
