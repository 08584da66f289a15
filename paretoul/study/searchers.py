"""Per-arm searchers (:mod:`paretoul.study.tune_searcher` serves them all to Ray Tune).

Every arm records into its own Optuna study, so the database is the single source
of truth: an arm's remaining budget is read from it, which makes ``resume`` exact.

- ``optuna`` / ``random`` arms ask an Optuna NSGA-II, TPE, GP or random sampler on the
  arm's study (multi-objective). Each trial takes a slot of the budget (the lowest one free:
  an interrupted trial's slot is taken again) and its sampler is seeded from the arm's seed
  and the slot alone (:func:`slot_seed`): what a trial proposes depends on the trials finished
  before it, never on how many launches came before, so a resumed study continues the search
  an uninterrupted one would have made instead of replaying its first proposals;
- ``grid`` arms enumerate the Cartesian product, each point once (resume-exact);
- ``pymoo`` arms run pymoo's NSGA-II through ask/tell: each generation's population
  is served as parallel trials and told back when all have finished.

No arm runs a parameter set twice: a proposal that repeats a claimed trial is withdrawn
(``retired``, no budget used) and drawn again; a pymoo individual that decodes to a point
already claimed takes that trial's result. An arm whose finite space has no untried point
left ends early (:data:`~paretoul.study.store.SEARCH_DONE`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from paretoul.errors import UserError
from paretoul.methods import Param
from paretoul.study import leases, store
from paretoul.study.points import param_key, slot_seed, untried_point
from paretoul.study.spec import StudySpec, arm_budget, arm_space, grid_points, unit_name

FAIL_PENALTY = 1e6
"""Objective value told to pymoo for a failed trial (pymoo needs a finite number)."""
RESAMPLE_ATTEMPTS = 8
"""Proposals of an arm's own sampler (each with its own derived seed) before a repeated
parameter set is replaced by an untried point drawn at random."""
log = logging.getLogger("paretoul")


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
    """Serves one arm's trials and records them in its Optuna study.

    Every trial is claimed in the database (enqueue + ask, tagged with this launcher and a
    claim token) while :class:`StudySearcher` holds the study's claim lock, so launchers
    sharing a database see each other's claims and the union of their trials is the budget.

    Lifecycle (what a subclass implements is :meth:`suggest`; the rest is shared):

    1. construction opens (or creates) the arm's Optuna study, refuses a different setting
       under the same name (the spec digest) and records the arm's attributes;
    2. ``suggest(trial_id)`` claims the next trial and returns its parameters (fixed ones
       included), or None once the budget is claimed;
    3. ``complete(trial_id, result, error)`` tells its outcome: the objective values, or FAIL
       with the reason (a failed trial uses budget; pymoo ranks it worst);
    4. ``interrupt(trial_id)`` marks a trial stopped by a signal ``interrupted``: it uses no
       budget and is proposed again;
    5. ``remaining()`` / ``unfinished()`` tell the runner whether to go on. A new searcher on
       the same database continues where this one stopped (resume; see
       ``tests/study/test_searcher_resume.py``, and ``test_searcher_contract.py`` for the rest).
    """

    def __init__(self, spec: StudySpec, index: int, storage: optuna.storages.BaseStorage,
                 replicate: int = 0) -> None:
        self.index = index
        self.replicate = replicate
        self.arm = spec.arm_name(index)
        self.name = unit_name(self.arm, replicate)
        self.method = spec.arms[index].method
        self.seed = spec.arms[index].searcher.seed + replicate
        """Replicate K of an arm is its searcher with seed + K (an independent search run)."""
        self.budget = arm_budget(spec, index)
        self.space, self.fixed = arm_space(spec, index)
        self.dists = distributions(self.space)
        self.objectives = [o.metric for o in spec.objectives]
        self.directions = spec.directions()
        # The study's sampler only fills in parameters enqueued as fixed (grid, pymoo); Optuna
        # arms set a freshly seeded one before every ask.
        self.study = store.arm_study(storage, spec.name, self.name, self.directions,
                                     optuna.samplers.RandomSampler(seed=0), self.objectives)
        digest = _arm_digest(spec, index, replicate)
        known = self.study.user_attrs.get("spec_digest")
        if known is not None and known != digest:
            raise UserError("spec", f"arm {self.name!r} of study {spec.name!r} already exists in this "
                            "database with a different setting or search space; use another study name")
        if known is None:
            self.study.set_user_attr("spec_digest", digest)
            self.study.set_user_attr("method", self.method)
            self.study.set_user_attr("searcher", {**spec.arms[index].searcher.model_dump(),
                                                  "seed": self.seed})
            self.study.set_user_attr("arm", self.arm)
            self.study.set_user_attr("replicate", replicate)
            self.study.set_user_attr("budget", self.budget)
        self.budget = store.effective_budget(self.study.user_attrs, self.budget)
        self._pending: dict[str, optuna.trial.Trial] = {}

    def used(self) -> int:
        return sum(store.counted(t) for t in self.study.get_trials(deepcopy=False))

    def remaining(self) -> int:
        return self.budget - self.used()

    def unfinished(self) -> bool:
        """Budget left to claim, or trials in flight elsewhere (another launcher, which may yet
        die and leave them to us)."""
        trials = self.study.get_trials(deepcopy=False)
        mine = self.pending_ids()
        return (self.budget > sum(store.counted(t) for t in trials) or any(
            t.state in (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
            and t._trial_id not in mine for t in trials))

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def complete(self, trial_id: str, result: dict[str, Any] | None, error: str | None) -> None:
        self._finish(trial_id, result, error)

    def _start(self, trial_id: str, params: dict[str, Any], attrs: dict[str, Any] | None = None
               ) -> optuna.trial.Trial:
        """Claim a trial with ``params`` fixed (the rest sampled) for this launcher."""
        mine = {**(attrs or {}), leases.LAUNCHER: leases.launcher_id(), "claim": uuid.uuid4().hex}
        self.study.enqueue_trial(params, user_attrs=mine)
        while True:
            trial = self.study.ask(fixed_distributions=self.dists)
            if trial.user_attrs.get("claim") == mine["claim"]:
                break
            # Optuna served an older queued trial (left by a launcher that died between
            # enqueue and ask): retire it; ours is still in the queue behind it.
            trial.set_user_attr(store.INTERRUPTED, True)
            trial.set_user_attr("error", "a queued trial left by a launcher that stopped")
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self._pending[trial_id] = trial
        return trial

    def interrupt(self, trial_id: str) -> None:
        """This launcher's trial stopped unfinished (the study was interrupted): it uses no budget
        and is run again."""
        trial = self._pending.pop(trial_id, None)
        if trial is not None:
            store.mark_interrupted(self.study, trial)  # type: ignore[arg-type]

    def _retire(self, trial_id: str, reason: str) -> None:
        """Withdraw this launcher's just-claimed trial unrun (it uses no budget)."""
        trial = self._pending.pop(trial_id)
        trial.set_user_attr(store.RETIRED, reason)
        self.study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def _end_search(self, trials: int, why: str) -> None:
        """The searcher has nothing new to propose: the arm ends at ``trials`` trials."""
        if self.study.user_attrs.get(store.SEARCH_DONE) is None:
            self.study.set_user_attr(store.SEARCH_DONE, trials)
            if trials < self.budget:
                log.warning("arm %s: %s; it ends after %d of its %d trials", self.name, why, trials,
                            self.budget)
        self.budget = min(self.budget, trials)

    def _finish(self, trial_id: str, result: dict[str, Any] | None, error: str | None) -> None:
        """Record a trial's outcome. Safe to retry after a lost connection: a trial already
        told (the reply was lost) or retired meanwhile (another launcher took this one for
        dead; it is run again) is left as the database has it."""
        trial = self._pending.get(trial_id)
        if trial is None:
            return
        values = self._values(result)
        try:
            if values is None:
                trial.set_user_attr("error", self._record(trial, result, error))
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self._record(trial, result, None)
                self.study.tell(trial, values)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass
        except ValueError as e:  # Optuna: "Cannot tell a ... trial" — it is finished already
            if "Cannot tell" not in str(e):
                raise
        del self._pending[trial_id]

    def pending_ids(self) -> set[int]:
        """Database ids of this launcher's trials in flight."""
        return {t._trial_id for t in self._pending.values()}

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
                    "node", "pid", "tune_trial_id", "params_full", "started_at", "trace",
                    "conflict"):
            if key in result:
                trial.set_user_attr(key, result[key])
        message = error or result.get("error")
        if message is None and result:
            message = "an objective is missing, NaN or infinite"
        if message is None:
            message = "the trial failed without a result"
        return message


def _arm_digest(spec: StudySpec, index: int, replicate: int = 0) -> str:
    """What a trial of arm ``index`` (replicate ``replicate``) means: launchers sharing the arm
    must agree on it. The replicate count is left out (a run's meaning does not depend on how
    many others there are); the first replicate's digest is the arm's digest before replicates."""
    setting = spec.model_dump(mode="json", include={"dataset", "forget", "seeds", "reference_fraction",
                                                    "recipe", "objectives"})
    setting.update(model=spec.model_name,
                   arm=spec.arms[index].model_dump(mode="json", exclude={"replicates"}))
    if replicate:
        setting["replicate"] = replicate
    return hashlib.sha256(json.dumps(setting, sort_keys=True).encode()).hexdigest()[:16]


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

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
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


class GridArm(ArmSearcher):
    """``grid`` arms: the Cartesian product of the listed values, each point exactly once.

    The points still to run are read from the database, so a resumed study runs the
    points an interrupted launcher lost, and never a finished one again.
    """

    def __init__(self, spec: StudySpec, index: int, storage: optuna.storages.BaseStorage,
                 replicate: int = 0) -> None:
        super().__init__(spec, index, storage, replicate)
        arm = spec.arms[index]
        self.points = grid_points(arm)[: self.budget]
        self.dists = {k: CategoricalDistribution(list(v)) for k, v in arm.grid.items()}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        taken = [t.params for t in self.study.get_trials(deepcopy=False) if store.counted(t)]
        todo = [p for p in self.points if p not in taken]
        if not todo:
            return None
        self._start(trial_id, todo[0])
        return {**self.fixed, **todo[0]}


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

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
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


def make_arm(spec: StudySpec, index: int, storage: optuna.storages.BaseStorage,
             replicate: int = 0) -> ArmSearcher:
    """The searcher of one search run: arm ``index``, replicate ``replicate``."""
    kind = spec.arms[index].searcher.type
    cls = PymooArm if kind == "pymoo" else GridArm if kind == "grid" else OptunaArm
    return cls(spec, index, storage, replicate)
