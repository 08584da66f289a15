"""Trial records read back from a study's results database: what every analysis starts from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna


@dataclass(frozen=True)
class TrialRecord:
    """One trial of one arm, as recorded (finished ones carry objectives and metrics)."""

    arm: str
    method: str
    searcher: str
    number: int
    state: str  # "complete" | "failed" | "running" | "interrupted" (retired proposals are left out)
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

    @property
    def key(self) -> str:
        return f"{self.arm}#{self.number}"


@dataclass
class StudyData:
    """A study's spec facts and all its trial records."""

    name: str
    directory: Path
    objectives: list[str]
    directions: list[str]
    records: list[TrialRecord]
    reference: dict[str, Any]
    """Per seed: metrics of the original model and of the oracle."""
    spec: Any

    def finished(self) -> list[TrialRecord]:
        return [r for r in self.records if r.state == "complete"]

    def matrix(self, records: list[TrialRecord] | None = None) -> np.ndarray:
        """Objective values (rows = trials), in the objectives' own units and directions."""
        rs = self.finished() if records is None else records
        return np.array([r.objectives for r in rs], dtype=float).reshape(len(rs), len(self.objectives))

    def reference_points(self) -> dict[str, np.ndarray]:
        """The original model's and the oracle's objective values, averaged over seeds."""
        out = {}
        for who in ("original", "oracle"):
            rows = [[self.reference[s][who][m] for m in self.objectives] for s in self.reference]
            if rows:
                out[who] = np.mean(np.array(rows, dtype=float), axis=0)
        return out


def _state(t: optuna.trial.FrozenTrial) -> str:
    S = optuna.trial.TrialState
    if t.state == S.COMPLETE:
        return "complete"
    if t.user_attrs.get("retired"):
        return "retired"
    if t.state == S.FAIL:
        return "interrupted" if t.user_attrs.get("interrupted") else "failed"
    return "running"


def _arm_records(spec: Any, i: int, storage: Any) -> list[TrialRecord]:
    from paretoul.study import store

    arm = spec.arm_name(i)
    try:
        study = optuna.load_study(study_name=store.arm_study_name(spec.name, arm), storage=storage)
    except KeyError:
        return []
    records = []
    for t in study.get_trials(deepcopy=False):
        state = _state(t)
        if state == "retired":
            continue  # a repeated proposal withdrawn unrun: not a trial of the study
        records.append(TrialRecord(
            arm=arm, method=spec.arms[i].method, searcher=spec.arms[i].searcher.type,
            number=t.number, state=state,
            params=dict(t.user_attrs.get("params_full") or t.params),
            objectives=tuple(t.values) if state == "complete" and t.values else None,
            metrics=dict(t.user_attrs.get("metrics", {})),
            metrics_std=dict(t.user_attrs.get("metrics_std", {})),
            metrics_per_seed=list(t.user_attrs.get("metrics_per_seed", [])),
            seeds=list(t.user_attrs.get("seeds", [])),
            completed_at=t.datetime_complete.timestamp() if t.datetime_complete else None,
            error=t.user_attrs.get("error"),
            trace=dict(t.user_attrs.get("trace", {})),
        ))
    return records


def load_study_data(study_dir: str | Path, storage_url: str | None = None) -> StudyData:
    """Read every trial of every arm of the study in ``study_dir``."""
    from paretoul.study import store
    from paretoul.study.layout import load_study_spec, read_meta, storage_url_of

    d = Path(study_dir)
    spec = load_study_spec(d)
    url = storage_url or storage_url_of(d, spec, None)
    objectives = [o.metric for o in spec.objectives]
    records: list[TrialRecord] = []
    store.check_database_file(url, d)
    storage = store.open_storage(url)
    try:
        for i in range(len(spec.arms)):
            records += _arm_records(spec, i, storage)
    finally:
        store.close(storage)
    meta = read_meta(d)
    return StudyData(spec.name, d, objectives, spec.directions(), records,
                     meta.get("reference", {}), spec)
