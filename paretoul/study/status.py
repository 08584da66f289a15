"""What a study has done, per arm, read from its results database (``paretoul study status``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from paretoul.study import store
from paretoul.study.arm_front import front_pick
from paretoul.study.layout import load_study_spec, read_meta, storage_url_of
from paretoul.study.spec import StudySpec, arm_budget


def study_status(study_dir: str | Path, storage_url: str | None = None,
                 spec: StudySpec | None = None) -> dict[str, Any]:
    """Per arm (per replicate of an arm with ``replicates``): budget, finished, failed, running
    and one trial of its front (see
    :func:`~paretoul.study.progress.front_pick`)."""
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
    S = optuna.trial.TrialState
    complete = [t for t in trials if t.state == S.COMPLETE]
    return {
        "finished": len(complete),
        "failed": sum(1 for t in trials if t.state == S.FAIL and store.counted(t)),
        "interrupted": sum(1 for t in trials if t.user_attrs.get(store.INTERRUPTED)),
        "running": sum(1 for t in trials if t.state in (S.RUNNING, S.WAITING)),
        "retired": sum(1 for t in trials if t.user_attrs.get(store.RETIRED)),
        "points": [(t.number, list(t.values)) for t in complete],
    }


def _arm_status(spec: StudySpec, storage: Any) -> list[dict[str, Any]]:
    directions = spec.directions()
    arms = []
    for i, replicate, name in spec.units():
        budget = arm_budget(spec, i)
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
