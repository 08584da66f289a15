"""Per-arm searchers and the one Ray Tune searcher that serves all arms of a study.

Every arm records into its own Optuna study, so the database is the single source
of truth: an arm's remaining budget is read from it, which makes ``resume`` exact.

- ``optuna`` / ``random`` arms use Ray Tune's ``OptunaSearch`` (multi-objective metric/mode
  lists) with an NSGA-II, TPE, GP or random sampler on the RDB storage;
- ``grid`` arms enumerate the Cartesian product, each point once (resume-exact);
- ``pymoo`` arms run pymoo's NSGA-II through ask/tell: each generation's population
  is served as parallel trials and told back when all have finished.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

from paretoul.methods import Param
from paretoul.study import store
from paretoul.study.spec import StudySpec, arm_budget, arm_space, grid_points

FAIL_PENALTY = 1e6
"""Objective value told to pymoo for a failed trial (pymoo needs a finite number)."""


def distributions(space: dict[str, Param]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, p in space.items():
        if p.kind == "float":
            out[name] = FloatDistribution(p.low, p.high, log=p.log)
        elif p.kind == "int":
            out[name] = IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            out[name] = CategoricalDistribution(list(p.choices))
    return out


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


class ArmSearcher:
    """Serves one arm's trials and records them in its Optuna study."""

    def __init__(self, spec: StudySpec, index: int, storage: optuna.storages.BaseStorage) -> None:
        self.index = index
        self.name = spec.arm_name(index)
        self.method = spec.arms[index].method
        self.budget = arm_budget(spec, index)
        self.space, self.fixed = arm_space(spec, index)
        self.objectives = [o.metric for o in spec.objectives]
        self.directions = spec.directions()
        self.study = store.arm_study(storage, spec.name, self.name, self.directions)
        self.study.set_user_attr("method", self.method)
        self.study.set_user_attr("searcher", spec.arms[index].searcher.model_dump())
        self.study.set_user_attr("budget", self.budget)

    def used(self) -> int:
        return sum(store.counted(t) for t in self.study.get_trials(deepcopy=False))

    def remaining(self) -> int:
        return self.budget - self.used()

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def complete(self, trial_id: str, result: dict[str, Any] | None, error: str | None) -> None:
        raise NotImplementedError

    def _values(self, result: dict[str, Any] | None) -> list[float] | None:
        if not result or result.get("error"):
            return None
        vals = [result.get(m) for m in self.objectives]
        if any(v is None or not math.isfinite(v) for v in vals):
            return None
        return [float(v) for v in vals]

    @staticmethod
    def _record(trial: optuna.trial.BaseTrial, result: dict[str, Any] | None,
                error: str | None) -> str | None:
        """Write result attributes onto ``trial``; return the error message, if any."""
        result = result or {}
        for key in ("metrics", "metrics_std", "metrics_per_seed", "seeds", "trial_s", "unlearn_s",
                    "node", "tune_trial_id", "params_full", "started_at", "trace"):
            if key in result:
                trial.set_user_attr(key, result[key])
        message = error or result.get("error")
        if message is None and result:
            message = "an objective is missing, NaN or infinite"
        if message is None:
            message = "the trial failed without a result"
        return message


class OptunaArm(ArmSearcher):
    """``optuna`` and ``random`` arms: Ray Tune's OptunaSearch on the RDB storage."""

    def __init__(self, spec: StudySpec, index: int, storage: optuna.storages.BaseStorage) -> None:
        super().__init__(spec, index, storage)
        s = spec.arms[index].searcher
        space = distributions(self.space)
        sampler = _sampler("random" if s.type == "random" else s.sampler, s.seed, s.population,
                           s.startup_trials)
        self.search = OptunaSearch(
            space=space, metric=self.objectives, mode=self.directions, sampler=sampler,
            study_name=self.study.study_name, storage=storage,
        )

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.remaining() <= 0:
            return None
        params = self.search.suggest(trial_id)
        return {**self.fixed, **params}

    def complete(self, trial_id: str, result: dict[str, Any] | None, error: str | None) -> None:
        ot = self.search._ot_trials[trial_id]
        values = self._values(result)
        if values is None:
            message = self._record(ot, result, error)
            ot.set_user_attr("error", message)
            self.search.on_trial_complete(trial_id, result=None, error=True)
            return
        self._record(ot, result, None)
        self.search.on_trial_complete(trial_id, result={m: v for m, v in zip(self.objectives, values,
                                                                                strict=True)})


class _EnqueueingArm(ArmSearcher):
    """Arms that decide the parameters themselves and record each trial by enqueue + ask."""

    def _start(self, trial_id: str, params: dict[str, Any], dists: dict[str, Any],
               attrs: dict[str, Any]) -> optuna.trial.Trial:
        self.study.enqueue_trial(params, user_attrs=attrs)
        while True:
            trial = self.study.ask(fixed_distributions=dists)
            if trial.params == params and all(trial.user_attrs.get(k) == v for k, v in attrs.items()):
                break
            # Optuna served an older queued trial (left by a launcher that died between
            # enqueue and ask): retire it; ours is still in the queue behind it.
            trial.set_user_attr(store.INTERRUPTED, True)
            trial.set_user_attr("error", "a queued trial left by a launcher that stopped")
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self._pending[trial_id] = trial
        return trial

    def _finish(self, trial_id: str, result: dict[str, Any] | None, error: str | None
                ) -> list[float] | None:
        trial = self._pending.pop(trial_id)
        values = self._values(result)
        if values is None:
            trial.set_user_attr("error", self._record(trial, result, error))
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self._record(trial, result, None)
            self.study.tell(trial, values)
        return values


class GridArm(_EnqueueingArm):
    """``grid`` arms: the Cartesian product of the listed values, each point exactly once.

    The points still to run are read from the database, so a resumed study runs the
    points an interrupted launcher lost, and never a finished one again.
    """

    def __init__(self, spec: StudySpec, index: int, storage: optuna.storages.BaseStorage) -> None:
        super().__init__(spec, index, storage)
        arm = spec.arms[index]
        self.points = grid_points(arm)[: self.budget]
        self.dists = {k: CategoricalDistribution(list(v)) for k, v in arm.grid.items()}
        self._pending: dict[str, optuna.trial.Trial] = {}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        taken = [t.params for t in self.study.get_trials(deepcopy=False) if store.counted(t)]
        todo = [p for p in self.points if p not in taken]
        if not todo:
            return None
        self._start(trial_id, todo[0], self.dists, {})
        return {**self.fixed, **todo[0]}

    def complete(self, trial_id: str, result: dict[str, Any] | None, error: str | None) -> None:
        self._finish(trial_id, result, error)


class PymooArm(_EnqueueingArm):
    """pymoo NSGA-II by ask/tell over a unit-cube encoding of the arm's space.

    Each variable is a real in [0, 1]: floats map linearly (or log-linearly), integers
    are rounded, categoricals index their choices. The algorithm is replayed from the
    database on resume, so finished individuals are never run again.
    """

    def __init__(self, spec: StudySpec, index: int, storage: optuna.storages.BaseStorage) -> None:
        super().__init__(spec, index, storage)
        s = spec.arms[index].searcher
        self.population, self.generations, self.seed = s.population, s.generations, s.seed
        self.names = list(self.space)
        self.dists = distributions(self.space)
        self.signs = np.array([1.0 if d == "min" else -1.0 for d in self.directions])
        self._pending: dict[str, optuna.trial.Trial] = {}
        self._index: dict[str, int] = {}
        self._algo = self._new_algorithm()
        self._gen = 0
        self._pop = None
        self._F: np.ndarray | None = None
        self._served: set[int] = set()
        self._replay()

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

    def _ask(self) -> None:
        self._pop = self._algo.ask()
        self._F = np.full((len(self._pop), len(self.objectives)), np.nan)
        self._served = set()

    def _tell(self) -> None:
        from pymoo.core.evaluator import Evaluator
        from pymoo.problems.static import StaticProblem

        evaluator = Evaluator()
        evaluator.eval(StaticProblem(self._algo.problem, F=self._F * self.signs), self._pop)
        self._algo.tell(infills=self._pop)
        self._gen += 1
        self._pop = None

    def _finished(self) -> dict[tuple[int, int], optuna.trial.FrozenTrial]:
        done = {}
        for t in self.study.get_trials(deepcopy=False):
            if store.counted(t) and t.state != optuna.trial.TrialState.RUNNING and "pymoo" in t.user_attrs:
                done[tuple(t.user_attrs["pymoo"])] = t
        return done

    def _objective_row(self, t: optuna.trial.FrozenTrial) -> np.ndarray:
        if t.state == optuna.trial.TrialState.COMPLETE:
            return np.array(t.values, dtype=float)
        return np.array([FAIL_PENALTY * s for s in self.signs])  # worst possible in each direction

    def _replay(self) -> None:
        """Re-run ask/tell deterministically over the generations already in the database."""
        done = self._finished()
        while self._gen < self.generations:
            self._ask()
            for i in range(len(self._pop)):
                if (self._gen, i) in done:
                    self._F[i] = self._objective_row(done[(self._gen, i)])
                    self._served.add(i)
            if len(self._served) < len(self._pop):
                return
            self._tell()

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self._gen >= self.generations or self._pop is None:
            return None
        todo = [i for i in range(len(self._pop)) if i not in self._served]
        if not todo:
            return None  # wait for the generation to finish
        i = todo[0]
        params = self.decode(self._pop[i].X)
        self._start(trial_id, params, self.dists, {"pymoo": [self._gen, i]})
        self._index[trial_id] = i
        self._served.add(i)
        return {**self.fixed, **params}

    def complete(self, trial_id: str, result: dict[str, Any] | None, error: str | None) -> None:
        i = self._index.pop(trial_id)
        values = self._finish(trial_id, result, error)
        self._F[i] = values if values is not None else [FAIL_PENALTY * s for s in self.signs]
        if not np.isnan(self._F).any():
            self._tell()
            if self._gen < self.generations:
                self._ask()


def make_arm(spec: StudySpec, index: int, storage: optuna.storages.BaseStorage) -> ArmSearcher:
    kind = spec.arms[index].searcher.type
    if kind == "pymoo":
        return PymooArm(spec, index, storage)
    if kind == "grid":
        return GridArm(spec, index, storage)
    return OptunaArm(spec, index, storage)


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
    """One Tune searcher over all arms: serves them in turn until every budget is used."""

    def __init__(self, arms: list[ArmSearcher]) -> None:
        super().__init__()
        self.arms = arms
        self._owner: dict[str, ArmSearcher] = {}
        self._next = 0
        self._deferred: dict[str, tuple[ArmSearcher, dict[str, Any] | None]] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        n = len(self.arms)
        waiting = False
        for k in range(n):
            arm = self.arms[(self._next + k) % n]
            params = arm.suggest(trial_id)
            if params is None:
                waiting = waiting or arm.remaining() > 0
                continue
            self._owner[trial_id] = arm
            self._next = (self._next + k + 1) % n
            return {"arm": arm.name, "method": arm.method, "params": params}
        return None if waiting or self._deferred else Searcher.FINISHED

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        arm = self._owner.pop(trial_id, None)
        if arm is None:
            return
        if result is not None:
            result = _unflatten(result)  # Tune hands searchers flattened results
        if error:  # the message arrives right after, through on_trial_error of the callback
            self._deferred[trial_id] = (arm, result)
            return
        arm.complete(trial_id, result, None)

    def record_error(self, trial_id: str, message: str) -> None:
        """Called by the progress callback with a failed trial's error message."""
        arm, result = self._deferred.pop(trial_id, (None, None))
        if arm is not None:
            arm.complete(trial_id, result, message)

    def flush(self) -> None:
        for trial_id in list(self._deferred):
            self.record_error(trial_id, "the trial failed (no message from Ray)")
