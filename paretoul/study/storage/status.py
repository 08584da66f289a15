"""What a study has done, per arm, read from its results database (``paretoul study status``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from paretoul.geometry.pick import front_pick
from paretoul.study.spec import StudySpec
from paretoul.study.storage import store
from paretoul.study.storage.layout import load_study_spec, read_meta, storage_url_of
from paretoul.study.storage.outcome import Outcome, outcome_of


def study_status(study_dir: str | Path, storage_url: str | None = None,
                 spec: StudySpec | None = None) -> dict[str, Any]:
    """Per arm (per replicate of an arm with ``replicates``): budget, finished, failed, running
    and one trial of its front (see
    :func:`~paretoul.execution.progress.front_pick`)."""
    d = Path(study_dir)
    spec = spec or load_study_spec(d)
    url = storage_url or storage_url_of(d, spec, None)
    store.check_database_file(url, d)
    storage = store.open_storage(url)
    try:
        arms = _arm_status(spec, storage)
    finally:
        store.close(storage)
    meta = read_meta(d)
    return {"study": spec.name, "dir": str(d), "storage": store.mask_url(url),
            "objectives": dict(zip([o.metric for o in spec.objectives], spec.directions(), strict=True)),
            "arms": arms, "complete": all(a["finished"] + a["failed"] >= a["budget"] for a in arms),
            "runs": meta.get("runs", [])}


def arm_counts(trials: list[optuna.trial.FrozenTrial]) -> dict[str, Any]:
    """An arm's finished, failed (for a reason of their own), interrupted, running and retired
    trials, and ``points``: ``(number, objective values)`` of the finished ones."""
    outcomes = [outcome_of(t) for t in trials]
    n = {o: outcomes.count(o) for o in Outcome}
    return {
        "finished": n[Outcome.COMPLETE], "failed": n[Outcome.FAILED],
        "interrupted": n[Outcome.INTERRUPTED], "running": n[Outcome.RUNNING],
        "retired": n[Outcome.RETIRED],
        "points": [(t.number, list(t.values)) for t, o in zip(trials, outcomes, strict=True)
                   if o == Outcome.COMPLETE],
    }


def _arm_status(spec: StudySpec, storage: Any) -> list[dict[str, Any]]:
    directions = spec.directions()
    arms = []
    for i, replicate, name in spec.units():
        budget = spec.resolved[i].budget
        try:
            study = optuna.load_study(study_name=store.arm_study_name(spec.name, name), storage=storage)
            trials, attrs = study.get_trials(deepcopy=False), study.user_attrs
        except KeyError:
            trials, attrs = [], {}
        counts = arm_counts(trials)
        points = counts.pop("points")
        arms.append({
            "arm": name, **({"replicate": replicate} if spec.arms[i].replicates > 1 else {}),
            "method": spec.arms[i].method, "searcher": spec.arms[i].searcher.type,
            "budget": store.effective_budget(attrs, budget), "spec_budget": budget, **counts,
            "pick": front_pick(points, directions),
        })
    return arms
