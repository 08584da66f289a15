"""The claim protocol every arm's searcher shares (:class:`ArmSearcher`): each trial claimed in
the arm's Optuna study, its outcome told back, an interrupted one run again.

Every arm records into its own Optuna study, so the database is the single source of truth: an
arm's remaining budget is read from it, which makes ``resume`` exact. No arm runs a parameter
set twice: a proposal that repeats a claimed trial is withdrawn (``retired``, no budget used)
and drawn again. An arm whose finite space has no untried point left ends early
(:data:`~paretoul.study.storage.store.SEARCH_DONE`). One module per strategy builds on it:
:mod:`.optuna_arm`, :mod:`.grid_arm`, :mod:`.pymoo_arm`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from paretoul.errors import UserError
from paretoul.execution.results import combined
from paretoul.methods import Param
from paretoul.study.spec import StudySpec, unit_name
from paretoul.study.storage import leases, optuna_internals, outcome, rungs, store

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



class ArmSearcher:
    """Serves one arm's trials and records them in its Optuna study.

    Every trial is claimed in the database (enqueue + ask, tagged with this launcher and a
    claim token) while :class:`StudySearcher` holds the study's claim lock, so launchers
    sharing a database see each other's claims and the union of their trials is the budget.

    Lifecycle (what a subclass implements is :meth:`_propose`; the rest is shared):

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
        resolved = spec.resolved[index]
        self.budget = resolved.budget
        self.space, self.fixed = resolved.space, resolved.fixed
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
        self.fidelity = spec.arms[index].fidelity
        self.seeds = list(spec.seeds)
        self._runs: dict[str, tuple[int, list[int]]] = {}
        """Trial id -> (rung, seeds to run) of this launcher's trials of a ``fidelity`` arm."""
        self._lower: dict[str, dict[str, Any]] = {}
        """Trial id -> the record (user attributes) a run on more seeds extends."""

    def used(self) -> int:
        return sum(store.counted(t) for t in self.study.get_trials(deepcopy=False))

    def remaining(self) -> int:
        return self.budget - self.used()

    def unfinished(self) -> bool:
        """Budget left to claim, or trials in flight elsewhere (another launcher, which may yet
        die and leave them to us); with ``fidelity``, also promotions due or trials of ours in
        flight (each may make a configuration due for more seeds)."""
        trials = self.study.get_trials(deepcopy=False)
        mine = self.pending_ids()
        if self.fidelity is not None and (mine or self._due(trials)):
            return True
        return (self.budget > sum(store.counted(t) for t in trials) or any(
            t.state in (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
            and optuna_internals.trial_id(t) not in mine for t in trials))

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """Claim the next trial and return its parameters (fixed ones included), or None (budget
        claimed, or waiting). With ``fidelity``, a configuration due for more seeds comes first
        (highest rung, best first), then a new one (:meth:`_propose`) on the first rung's seeds."""
        if self.fidelity is None:
            return self._propose(trial_id)
        due = self._due(self.study.get_trials(deepcopy=False))
        if due:
            lower, k = due[0]
            self.study.sampler = optuna.samplers.RandomSampler(seed=0)  # every value enqueued;
            # a plain sampler, so Optuna's NSGA-II counts no promotion in its generations
            self._start(trial_id, dict(lower.params), {rungs.RUNG: k, rungs.CONFIG: rungs.config_of(lower),
                                                       "lower": lower.number})
            self._runs[trial_id] = (k, rungs.new_seeds(self.fidelity, self.seeds, k))
            self._lower[trial_id] = lower.user_attrs
            return {**self.fixed, **lower.params}
        params = self._propose(trial_id)
        if params is not None:
            self._runs[trial_id] = (0, rungs.new_seeds(self.fidelity, self.seeds, 0))
        return params

    def _propose(self, trial_id: str) -> dict[str, Any] | None:
        """A new configuration claimed (see :meth:`_start`), or None: what each strategy implements."""
        raise NotImplementedError

    def _due(self, trials: list[optuna.trial.FrozenTrial]) -> list[tuple[optuna.trial.FrozenTrial, int]]:
        assert self.fidelity is not None
        return rungs.due(trials, self.fidelity, self.objectives, self.directions, self.budget)

    @property
    def top_rung(self) -> int:
        """The rung of a configuration measured on every seed (0 without ``fidelity``)."""
        return 0 if self.fidelity is None else len(self.fidelity.seeds) - 1

    def pending_run(self, trial_id: str) -> tuple[int, list[int]] | None:
        """``(rung, seeds to run)`` of this launcher's trial in flight; None: all the study's seeds."""
        return self._runs.get(trial_id)

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
            trial.set_user_attr(outcome.INTERRUPTED, True)
            trial.set_user_attr("error", "a queued trial left by a launcher that stopped")
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self._pending[trial_id] = trial
        return trial

    def interrupt(self, trial_id: str) -> None:
        """This launcher's trial stopped unfinished (the study was interrupted): it uses no budget
        and is run again."""
        self._runs.pop(trial_id, None)
        trial = self._pending.pop(trial_id, None)
        self._lower.pop(trial_id, None)
        if trial is not None:
            store.mark_interrupted(self.study, trial)  # type: ignore[arg-type]

    def _retire(self, trial_id: str, reason: str) -> None:
        """Withdraw this launcher's just-claimed trial unrun (it uses no budget)."""
        trial = self._pending.pop(trial_id)
        self._runs.pop(trial_id, None)
        self._lower.pop(trial_id, None)
        trial.set_user_attr(outcome.RETIRED, reason)
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
        lower = self._lower.pop(trial_id, None)
        if lower is not None and result and not error and not result.get("error"):
            result = combined(lower, result)  # a run on more seeds: its record holds every seed
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
        self._runs.pop(trial_id, None)

    def pending_number(self, trial_id: str) -> int:
        """The trial number (in the arm's study) of this launcher's trial ``trial_id`` in flight."""
        return self._pending[trial_id].number

    def pending_ids(self) -> set[int]:
        """Database ids of this launcher's trials in flight."""
        return {optuna_internals.trial_id(t) for t in self._pending.values()}

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
                    "node", "pid", "cpu_kernels", "tune_trial_id", "params_full", "started_at", "trace",
                    "conflict", "conflict_per_seed"):
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
    arm = spec.arms[index]  # no fidelity, or its default promote: the digest from before the key
    exclude: dict[str, Any] = {"replicates": True}
    if arm.fidelity is None:
        exclude["fidelity"] = True
    elif arm.fidelity.promote == "asynchronous":
        exclude["fidelity"] = {"promote": True}
    setting.update(model=spec.model_name, arm=arm.model_dump(mode="json", exclude=exclude))
    if replicate:
        setting["replicate"] = replicate
    return hashlib.sha256(json.dumps(setting, sort_keys=True).encode()).hexdigest()[:16]

