"""``optuna`` and ``random`` arms: an Optuna sampler asked on the arm's study.

Each trial takes a slot of the budget (the lowest one free: an interrupted trial's slot is taken
again) and its sampler is seeded from the arm's seed and the slot alone (:func:`slot_seed`):
what a trial proposes depends on the trials finished before it, never on how many launches came
before, so a resumed study continues the search an uninterrupted one would have made.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna

from paretoul.study.search.base import ArmSearcher
from paretoul.study.search.points import param_key, slot_seed, untried_point
from paretoul.study.spec import StudySpec
from paretoul.study.storage import optuna_internals, store

RESAMPLE_ATTEMPTS = 8
"""Proposals of an arm's own sampler (each with its own derived seed) before a repeated
parameter set is replaced by an untried point drawn at random."""

def _sampler(kind: str, seed: int, population: int | None = None,
             startup: int | None = None) -> optuna.samplers.BaseSampler:
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, **({"population_size": population}
                                                           if population else {}))
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **({"n_startup_trials": startup} if startup else {}))
    if kind == "gp":
        return optuna.samplers.GPSampler(seed=seed, **({"n_startup_trials": startup} if startup else {}))
    return optuna.samplers.RandomSampler(seed=seed)



class OptunaArm(ArmSearcher):
    """``optuna`` and ``random`` arms: an Optuna sampler (NSGA-II, TPE, GP, random) on the
    arm's study, by ask/tell."""

    def __init__(self, spec: StudySpec, index: int, storage: optuna.storages.BaseStorage,
                 replicate: int = 0) -> None:
        super().__init__(spec, index, storage, replicate)
        self._searcher = spec.arms[index].searcher

    def _seeded(self, seed: int) -> optuna.samplers.BaseSampler:
        """A fresh sampler: Optuna's NSGA-II, TPE, GP and random samplers keep their state in
        the study (generations, parent caches), apart from their random stream (and GP's
        warm start from its previous kernel fit: here every fit starts afresh, as after a
        restart), so a proposal depends only on the arm's seed, the trial's slot and the
        trials finished before it."""
        s = self._searcher
        return _sampler("random" if s.type == "random" else s.sampler, seed, s.population,
                        s.startup_trials)

    def _propose(self, trial_id: str) -> dict[str, Any] | None:
        trials = [t for t in self.study.get_trials(deepcopy=False) if store.counted(t)]
        if len(trials) >= self.budget:
            return None
        # The lowest slot no counted trial holds: an interrupted trial's slot is claimed again,
        # with the same seed, as in the run that was not interrupted.
        held = {t.user_attrs.get("slot", t.number) for t in trials}
        slot = min(set(range(self.budget)) - held)
        taken = {param_key(t.params): t.number for t in trials}
        for attempt in range(RESAMPLE_ATTEMPTS):
            self.study.sampler = self._seeded(slot_seed(self.seed, slot, attempt))
            optuna_internals.drop_parent_cache(self.study, self.study.sampler)
            trial = self._start(trial_id, {}, {"slot": slot})
            first = taken.get(param_key(trial.params))
            if first is None:
                return {**self.fixed, **trial.params}
            self._retire(trial_id, f"proposed the parameters of trial #{first} again; drew anew")
        rng = np.random.default_rng(slot_seed(self.seed, slot, RESAMPLE_ATTEMPTS))
        params = untried_point(self.dists, taken, rng)
        if params is None:
            n = len(trials)
            self._end_search(n, f"its search space has no untried point left ({n} distinct)")
            return None
        trial = self._start(trial_id, params, {"slot": slot, "drawn_untried": True})
        return {**self.fixed, **trial.params}

