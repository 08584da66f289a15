"""A Tune callback that shows per-arm progress and passes error messages to the searcher."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from ray.tune import Callback

from paretoul.geometry.pick import describe_pick, front_pick


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
    """Prints one line per finished trial (unless quiet) and keeps the counts.

    Counts are the study's, across launches: ``initial`` gives each arm's finished and failed
    trials (and its finished objective values) already in the database."""

    def __init__(self, searcher: Any, budgets: dict[str, int], objectives: dict[str, str],
                 quiet: bool = False, initial: dict[str, dict[str, Any]] | None = None) -> None:
        self.searcher = searcher
        self.objectives = list(objectives)
        self.directions = [objectives[o] for o in self.objectives]
        self.budgets = budgets
        self.quiet = quiet
        self.done = 0
        """Trials this launch finished or failed."""
        self.failed = 0
        self.compute_s = 0.0
        initial = initial or {}
        self.per_arm: dict[str, list[int]] = {
            a: [initial.get(a, {}).get("finished", 0), initial.get(a, {}).get("failed", 0)] for a in budgets}
        self.points: dict[str, list[tuple[int, list[float]]]] = {
            a: list(initial.get(a, {}).get("points", [])) for a in budgets}
        self.running = 0
        self.more_seeds = 0
        """Runs of configurations on more seeds (``fidelity``) this launch finished: they use no
        budget, so the ``[done/total]`` count of configurations leaves them out."""
        self.t0 = time.perf_counter()

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running += 1

    def budget(self, arm: str) -> int:
        """The arm's budget now: lower than at the start when its searcher ran out of new points
        (a grid exhausted, pymoo proposing only points it had evaluated)."""
        for a in getattr(self.searcher, "arms", None) or []:
            if getattr(a, "name", None) == arm:
                return int(a.budget)
        return self.budgets.get(arm, 0)

    def _line(self, trial: Any, what: str) -> None:
        if self.quiet:
            return
        arm = trial.config.get("arm", "?")
        ok, bad = self.per_arm.get(arm, [0, 0])
        elapsed = time.perf_counter() - self.t0
        total = sum(self.budget(a) for a in self.budgets)
        done = sum(a + b for a, b in self.per_arm.values())
        pick = describe_pick(front_pick(self.points.get(arm, []), self.directions), self.objectives)
        budget = self.budget(arm)
        ended = (f" (of {self.budgets[arm]}: its searcher had no new point)"
                 if budget < self.budgets.get(arm, budget) else "")
        more = f" +{self.more_seeds} on more seeds" if self.more_seeds else ""
        sys.stdout.write(f"[{done:>3}/{total}{more}] {elapsed:6.1f}s in flight {self.running}  {arm:<20} "
                         f"{ok + bad:>3}/{budget:<3}{ended} failed {bad}  {what}"
                         f"{'  | ' + pick if pick else ''}\n")
        sys.stdout.flush()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running = max(0, self.running - 1)
        result = trial.last_result or {}
        if "trial_s" not in result:
            return  # stopped before it finished (an interrupted study): it will be run again
        arm = trial.config.get("arm", "?")
        self.compute_s += float(result.get("trial_s", 0.0))
        self.done += 1
        rung = int(trial.config.get("rung", 0))
        self.more_seeds += rung > 0
        counts = self.per_arm.setdefault(arm, [0, 0]) if rung == 0 else [0, 0]
        values = [result.get(k) for k in self.objectives]
        more = f"rung {rung} (+{len(trial.config.get('seeds', []))} seeds) " if rung else ""
        if result.get("error") or any(v is None or not np.isfinite(v) for v in values):
            counts[1] += 1
            self.failed += 1
            self._line(trial, f"{more}failed: {str(result.get('error', 'an objective is not finite'))[:80]}")
        else:
            counts[0] += 1
            number = self.searcher.trial_number(trial.trial_id)
            if trial.config.get("full", True):  # the pick is of configurations on every seed
                self.points.setdefault(arm, []).append((number if number is not None else -1, values))
            objs = ", ".join(f"{k} {v:.2f}" for k, v in zip(self.objectives, values, strict=True))
            first = not rung and "seeds" in trial.config  # a fidelity arm's new configuration
            seeds = f" on {len(trial.config['seeds'])} seed(s)" if first else ""
            self._line(trial, f"{more}#{number}{seeds} {result.get('trial_s', 0):.1f}s  {objs}")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running = max(0, self.running - 1)
        message = _error_message(trial)
        if not self.searcher.record_error(trial.trial_id, message[:2000]):
            return  # the study was interrupted: the trial will be run again
        arm = trial.config.get("arm", "?")
        if not trial.config.get("rung"):  # a run on more seeds is not a new configuration
            self.per_arm.setdefault(arm, [0, 0])[1] += 1
        else:
            self.more_seeds += 1
        self.done += 1
        self.failed += 1
        self._line(trial, f"failed: {message[:80]}")
