"""Trial records read back from a study's results database: what every analysis starts from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from paretoul.errors import UserError
from paretoul.study.spec import StudySpec, unit_name
from paretoul.study.storage import rungs, store
from paretoul.study.storage.layout import baselines_of, load_study_spec, read_meta, storage_url_of
from paretoul.study.storage.outcome import Outcome, outcome_of

ON = ("search", "validation")
"""The seeds a figure is measured on: the search's, or the held-out validation seeds."""


@dataclass(frozen=True)
class TrialRecord:
    """One trial of one arm, as recorded (finished ones carry objectives and metrics)."""

    arm: str
    method: str
    searcher: str
    number: int
    state: Outcome
    """complete, failed, running or interrupted (retired proposals are left out); a ``str``."""
    params: dict[str, Any]
    objectives: tuple[float, ...] | None
    metrics: dict[str, float] = field(default_factory=dict)
    metrics_std: dict[str, float] = field(default_factory=dict)
    metrics_per_seed: list[dict[str, float]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    completed_at: float | None = None
    error: str | None = None
    trace: dict[str, list[float]] = field(default_factory=dict)
    """The first seed's per-epoch losses and per-step weights (thinned)."""
    replicate: int = 0
    """Which search run of its arm (``replicates``) proposed it."""
    conflict: dict[str, float] = field(default_factory=dict)
    """Gradient conflict over the trial's unlearning (mean over seeds of each seed's epoch mean):
    ``grad_cos`` (cosine of the forget and retain gradients) and ``grad_conflict`` (share of
    steps with cos < 0); empty when the method did not measure it."""
    rung: int = 0
    """Of a ``fidelity`` arm: the rung of this measurement (the top one: every seed)."""
    config: int | None = None
    """Of a ``fidelity`` arm: the configuration's number (its first trial's)."""

    @property
    def seeds_done(self) -> int:
        """How many seeds this record's figures are measured on."""
        return len(self.seeds)

    @property
    def unit(self) -> str:
        """The search run's name: the arm's, or ``ARM@rK`` for replicate K >= 1."""
        return unit_name(self.arm, self.replicate)

    @property
    def key(self) -> str:
        return f"{self.unit}#{self.number}"


@dataclass
class StudyData:
    """A study's spec facts and all its trial records."""

    name: str
    directory: Path
    objectives: list[str]
    directions: list[str]
    records: list[TrialRecord]
    """One per configuration: finished ones measured on every search seed, failed, running and
    interrupted ones. Every front, comparison, table, choice and validation reads these."""
    baselines: dict[str, Any]
    """Per search seed: metrics of the original model and of the oracle."""
    spec: StudySpec | None
    validation_seeds: list[int] = field(default_factory=list)
    """Held-out seeds the study's ``paretoul validate`` runs evaluated trials on (none: none run)."""
    validation: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)
    """Trial key -> validation seed -> metrics (recorded apart from the search's)."""
    validation_errors: dict[str, dict[int, str]] = field(default_factory=dict)
    """Trial key -> validation seed -> why its evaluation failed."""
    validation_baselines: dict[str, Any] = field(default_factory=dict)
    """Per validation seed: metrics of that seed's original model and oracle."""
    partial: list[TrialRecord] = field(default_factory=list)
    """Configurations of ``fidelity`` arms measured on fewer than every seed (stopped at a lower
    rung, or waiting for promotion): shown with their ``seeds_done``, never on a front."""

    @property
    def search_seeds(self) -> list[int]:
        return list(getattr(self.spec, "seeds", None) or [])

    def resolve_on(self, on: str | None) -> str:
        """``search`` or ``validation``: the seeds figures are measured on (default: validation
        when the study has validation evaluations)."""
        if on is None:
            return "validation" if self.validation_seeds else "search"
        if on not in ON:
            raise UserError("on", f"{on!r} is not allowed; allowed: {', '.join(ON)}")
        if on == "validation" and not self.validation_seeds:
            raise UserError("on", f"{self.directory} has no validation evaluations; run "
                            "study.validate(seeds=[100, 101, 102]) first",
                            cli=f"{self.directory} has no validation evaluations; run `paretoul "
                            f"validate {self.directory} --seeds 100,101,102` first")
        return on

    def seeds_on(self, on: str) -> list[int]:
        return self.validation_seeds if on == "validation" else self.search_seeds

    def validated(self, r: TrialRecord) -> TrialRecord | None:
        """``r`` measured on the validation seeds (mean, ddof=1 std and per-seed metrics over
        them), or None when it lacks an evaluation on one of them."""
        per = self.validation.get(r.key, {})
        if not self.validation_seeds or any(s not in per for s in self.validation_seeds):
            return None
        rows = [per[s] for s in self.validation_seeds]
        names = [m for m in rows[0] if all(m in row for row in rows)]
        table = np.array([[row[m] for m in names] for row in rows], dtype=float)
        mean = dict(zip(names, table.mean(0).tolist(), strict=True))
        std = (dict(zip(names, table.std(0, ddof=1).tolist(), strict=True)) if len(rows) > 1 else {})
        return replace(r, objectives=tuple(mean[o] for o in self.objectives), metrics=mean,
                       metrics_std=std, metrics_per_seed=rows, seeds=list(self.validation_seeds))

    def missing_validation(self, r: TrialRecord) -> str:
        """Why ``r`` has no validation figures (for messages)."""
        errors = self.validation_errors.get(r.key, {})
        if errors:
            seed, why = next(iter(errors.items()))
            return f"{r.key} failed on validation seed {seed}: {why}"
        have = self.validation.get(r.key, {})
        lacking = [s for s in self.validation_seeds if s not in have]
        return f"{r.key} is not evaluated on validation seed(s) {', '.join(map(str, lacking))}"

    def finished(self) -> list[TrialRecord]:
        return [r for r in self.records if r.state == "complete"]

    def candidates(self) -> list[TrialRecord]:
        """The finished trials a user may choose: those of unlearning methods, not of references
        (an independent ``retrain``, whose gaps are the noise floor)."""
        from paretoul.methods.base import is_reference

        return [r for r in self.finished() if not is_reference(r.method)]

    def matrix(self, records: list[TrialRecord] | None = None) -> np.ndarray:
        """Objective values (rows = trials), in the objectives' own units and directions."""
        rs = self.finished() if records is None else records
        return np.array([r.objectives for r in rs], dtype=float).reshape(len(rs), len(self.objectives))

    def baselines_on(self, on: str = "search") -> dict[str, Any]:
        """Per seed of ``on``: the original's and the oracle's metrics."""
        return self.validation_baselines if on == "validation" else self.baselines

    def baseline_points(self, on: str = "search") -> dict[str, np.ndarray]:
        """The original model's and the oracle's objective values, averaged over ``on``'s seeds."""
        out = {}
        ref = self.baselines_on(on)
        for who in ("original", "oracle"):
            rows = [[ref[s][who][m] for m in self.objectives] for s in ref
                    if all(m in ref[s].get(who, {}) for m in self.objectives)]
            if rows and len(rows) == len(ref):
                out[who] = np.mean(np.array(rows, dtype=float), axis=0)
        return out


def _arm_records(spec: StudySpec, i: int, replicate: int, unit: str,
                 storage: optuna.storages.BaseStorage) -> tuple[list[TrialRecord], list[TrialRecord]]:
    """The arm's records: those of :attr:`StudyData.records` and those of :attr:`StudyData.partial`."""
    arm = spec.arm_name(i)
    try:
        study = optuna.load_study(study_name=store.arm_study_name(spec.name, unit), storage=storage)
    except KeyError:
        return [], []
    fidelity = spec.arms[i].fidelity
    top = 0 if fidelity is None else len(fidelity.seeds) - 1
    trials = study.get_trials(deepcopy=False)
    beyond: dict[int, int] = {}  # configuration -> highest rung it finished or failed at
    for t in trials:
        if outcome_of(t) in (Outcome.COMPLETE, Outcome.FAILED):
            beyond[rungs.config_of(t)] = max(beyond.get(rungs.config_of(t), 0), rungs.rung_of(t))
    full, partial = [], []
    for t in trials:
        state, rung = outcome_of(t), rungs.rung_of(t)
        if state == Outcome.RETIRED or (rung > 0 and state not in (Outcome.COMPLETE, Outcome.FAILED)):
            continue  # a repeated proposal withdrawn unrun; a run on more seeds not finished
        record = TrialRecord(
            arm=arm, method=spec.arms[i].method, searcher=spec.arms[i].searcher.type,
            number=t.number, state=state,
            params=dict(t.user_attrs.get("params_full") or t.params),
            objectives=tuple(t.values) if state == Outcome.COMPLETE and t.values else None,
            metrics=dict(t.user_attrs.get("metrics", {})),
            metrics_std=dict(t.user_attrs.get("metrics_std", {})),
            metrics_per_seed=list(t.user_attrs.get("metrics_per_seed", [])),
            seeds=list(t.user_attrs.get("seeds", [])),
            completed_at=t.datetime_complete.timestamp() if t.datetime_complete else None,
            error=t.user_attrs.get("error"),
            trace=dict(t.user_attrs.get("trace", {})),
            replicate=replicate,
            conflict={k: v for k, v in dict(t.user_attrs.get("conflict") or {}).items() if k != "seeds"},
            **({"rung": rung, "config": rungs.config_of(t)} if fidelity is not None else {}),
        )
        if state != Outcome.COMPLETE or rung == top:
            full.append(record)
        elif beyond.get(rungs.config_of(t), 0) == rung:  # its latest measurement: stopped here
            partial.append(record)
    return full, partial


def load_study_data(study_dir: str | Path, storage_url: str | None = None) -> StudyData:
    """Read every trial of every arm of the study in ``study_dir``."""
    d = Path(study_dir)
    spec = load_study_spec(d)
    url = storage_url or storage_url_of(d, spec, None)
    objectives = [o.metric for o in spec.objectives]
    records: list[TrialRecord] = []
    partial: list[TrialRecord] = []
    store.check_database_file(url, d)
    storage = store.open_storage(url)
    try:
        for i, replicate, unit in spec.units():
            full, lower = _arm_records(spec, i, replicate, unit, storage)
            records += full
            partial += lower
        seeds, validation, errors, baselines = _validation(spec, storage)
    finally:
        store.close(storage)
    meta = read_meta(d)
    return StudyData(spec.name, d, objectives, spec.directions(), records,
                     baselines_of(meta), spec, seeds, validation, errors, baselines, partial)


def _validation(spec: StudySpec, storage: optuna.storages.BaseStorage
                ) -> tuple[list[int], dict[str, dict[int, dict[str, float]]], dict[str, dict[int, str]],
                           dict[str, Any]]:
    """The study's validation seeds and evaluations (see :mod:`paretoul.study.validation`)."""
    try:
        study = optuna.load_study(study_name=store.validation_study_name(spec.name), storage=storage)
    except KeyError:
        return [], {}, {}, {}
    metrics: dict[str, dict[int, dict[str, float]]] = {}
    errors: dict[str, dict[int, str]] = {}
    for t in study.get_trials(deepcopy=False):
        key, seed = t.user_attrs.get("trial"), t.user_attrs.get("seed")
        if key is None or seed is None:
            continue
        if t.state == optuna.trial.TrialState.COMPLETE:
            metrics.setdefault(key, {})[int(seed)] = dict(t.user_attrs.get("metrics", {}))
        elif t.state == optuna.trial.TrialState.FAIL:
            errors.setdefault(key, {})[int(seed)] = str(t.user_attrs.get("error", "failed"))
    return ([int(s) for s in study.user_attrs.get("seeds", [])], metrics, errors,
            baselines_of(study.user_attrs))
