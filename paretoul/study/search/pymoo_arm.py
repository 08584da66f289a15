"""``pymoo`` arms: pymoo's NSGA-II through ask/tell; each generation's population is served as
parallel trials and told back when all have finished; an individual that decodes to a point
already claimed takes that trial's result."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import optuna

from paretoul.study.search.base import ArmSearcher
from paretoul.study.search.points import param_key
from paretoul.study.spec import StudySpec
from paretoul.study.storage import store

FAIL_PENALTY = 1e6
"""Objective value told to pymoo for a failed trial (pymoo needs a finite number)."""


class PymooArm(ArmSearcher):
    """pymoo NSGA-II by ask/tell over a unit-cube encoding of the arm's space.

    Each variable is a real in [0, 1]: floats map linearly (or log-linearly), integers
    are rounded, categoricals index their choices. The algorithm is deterministic given
    its seed and the objective values, so it is replayed from the database: on resume,
    and by every launcher sharing the arm (each serves the individuals nobody claimed).
    """

    def __init__(self, spec: StudySpec, index: int, storage: optuna.storages.BaseStorage,
                 replicate: int = 0) -> None:
        super().__init__(spec, index, storage, replicate)
        s = spec.arms[index].searcher
        self.population, self.generations = s.population, s.generations
        self.names = list(self.space)
        self.signs = np.array([1.0 if d == "min" else -1.0 for d in self.directions])
        self._algo = self._new_algorithm()
        self._gen = 0
        self._pop = None
        self._F: np.ndarray | None = None
        self._sync(self.study.get_trials(deepcopy=False))

    def _new_algorithm(self):
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.problem import Problem

        problem = Problem(n_var=len(self.names), n_obj=len(self.objectives), xl=0.0, xu=1.0)
        algo = NSGA2(pop_size=self.population, seed=self.seed)
        algo.setup(problem, termination=("n_gen", self.generations), seed=self.seed, verbose=False)
        return algo

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, u in zip(self.names, np.clip(x, 0.0, 1.0), strict=True):
            p = self.space[name]
            if p.kind == "categorical":
                out[name] = p.choices[min(int(u * len(p.choices)), len(p.choices) - 1)]
                continue
            lo, hi = float(p.low), float(p.high)
            v = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if p.log else lo + u * (hi - lo)
            out[name] = min(int(hi), max(int(lo), round(v))) if p.kind == "int" else min(hi, max(lo, v))
        return out

    def _tell(self) -> None:
        from pymoo.core.evaluator import Evaluator
        from pymoo.problems.static import StaticProblem

        evaluator = Evaluator()
        evaluator.eval(StaticProblem(self._algo.problem, F=self._F * self.signs), self._pop)
        self._algo.tell(infills=self._pop)
        self._gen += 1
        self._pop = None

    def _objective_row(self, t: optuna.trial.FrozenTrial) -> np.ndarray:
        if t.state == optuna.trial.TrialState.COMPLETE:
            return np.array(t.values, dtype=float)
        return np.array([FAIL_PENALTY * s for s in self.signs])  # worst possible in each direction

    def _sync(self, trials: list[optuna.trial.FrozenTrial]) -> set[int]:
        """Catch the algorithm up with the database; return the current generation's individuals
        that need no new trial (claimed by any launcher — finished, failed or running — or
        repeating a point already claimed, whose result they take)."""
        claimed: dict[tuple[int, int], optuna.trial.FrozenTrial] = {
            tuple(t.user_attrs["pymoo"]): t for t in trials if store.counted(t) and "pymoo" in t.user_attrs}
        first_of: dict[str, optuna.trial.FrozenTrial] = {}  # a point -> the trial claimed for it first
        for cell in sorted(claimed):
            first_of.setdefault(param_key(claimed[cell].params), claimed[cell])
        while self._gen < self.generations:
            if self._pop is None:
                self._pop = self._algo.ask()
                self._F = np.full((len(self._pop), len(self.objectives)), np.nan)
            covered = set()
            for i in range(len(self._pop)):
                t = claimed.get((self._gen, i)) or first_of.get(param_key(self.decode(self._pop[i].X)))
                if t is None:
                    continue
                covered.add(i)
                if t.state.is_finished():
                    self._F[i] = self._objective_row(t)
            if np.isnan(self._F).any():
                return covered
            self._tell()
        if len(claimed) < self.budget:  # some individuals repeated a point: fewer trials
            self._end_search(len(claimed), "pymoo proposed points it had evaluated before")
        return set()

    def _propose(self, trial_id: str) -> dict[str, Any] | None:
        covered = self._sync(self.study.get_trials(deepcopy=False))
        if self._pop is None:
            return None
        todo = [i for i in range(len(self._pop)) if i not in covered]
        if not todo:
            return None  # wait for the generation to finish
        i = todo[0]
        params = self.decode(self._pop[i].X)
        self._start(trial_id, params, {"pymoo": [self._gen, i]})
        return {**self.fixed, **params}

    def complete(self, trial_id: str, result: dict[str, Any] | None, error: str | None) -> None:
        self._finish(trial_id, result, error)
        self._sync(self.study.get_trials(deepcopy=False))

