"""What a study has done, per arm, read from its results database (``paretoul study status``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from paretoul.geometry.pick import front_pick
from paretoul.study.spec import Fidelity, StudySpec
from paretoul.study.storage import rungs, store
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
            "arms": arms, "complete": all(_arm_done(a) for a in arms),
            "seed_runs": seed_runs(arms, len(spec.seeds)), "runs": meta.get("runs", [])}


def seed_runs(arms: list[dict[str, Any]], n_seeds: int) -> dict[str, int]:
    """Seed-runs (one method run and evaluation on one seed) the finished and failed runs took
    (``run``), and how many running every one of those configurations on all ``n_seeds``
    seeds would have taken (``all_seeds``): what successive halving (``fidelity``) saved."""
    run = all_seeds = 0
    for a in arms:
        configs = a["finished"] + a["failed"]
        all_seeds += configs * n_seeds
        if "rungs" not in a:
            run += configs * n_seeds
            continue
        before = 0
        for r in a["rungs"]:
            run += (r["finished"] + r["failed"]) * (r["seeds"] - before)
            before = r["seeds"]
    return {"run": run, "all_seeds": all_seeds}


def _arm_done(a: dict[str, Any]) -> bool:
    """Every configuration finished, and (``fidelity``) no run on more seeds due or running."""
    return (a["finished"] + a["failed"] >= a["budget"] and not a.get("due")
            and not any(r["running"] for r in a.get("rungs", [])))


def arm_counts(trials: list[optuna.trial.FrozenTrial], top: int = 0) -> dict[str, Any]:
    """An arm's configurations — finished, failed (for a reason of their own), interrupted,
    running and retired — and ``points``: ``(number, objective values)`` of the finished ones
    measured on every seed (at rung ``top`` of a ``fidelity`` arm; runs on more seeds are
    counted under ``rungs`` by :func:`rung_counts`)."""
    outcomes = [outcome_of(t) for t in trials if not rungs.is_promotion(t)]
    n = {o: outcomes.count(o) for o in Outcome}
    return {
        "finished": n[Outcome.COMPLETE], "failed": n[Outcome.FAILED],
        "interrupted": n[Outcome.INTERRUPTED], "running": n[Outcome.RUNNING],
        "retired": n[Outcome.RETIRED],
        "points": [(t.number, list(t.values)) for t in trials
                   if outcome_of(t) == Outcome.COMPLETE and rungs.rung_of(t) == top],
    }


def rung_counts(trials: list[optuna.trial.FrozenTrial], fidelity: Fidelity, spec: StudySpec,
                budget: int) -> dict[str, Any]:
    """A ``fidelity`` arm's rungs (seeds, and the runs finished, failed, running and interrupted
    at each; ``stopped``: configurations finished there that go no further; ``waiting``: finished
    there, their rung not yet complete under ``promote: synchronous``) and ``due``: the
    promotions still to run."""
    going, decided = rungs.ladder(trials, fidelity, [o.metric for o in spec.objectives],
                                  spec.directions(), budget)
    due = {rungs.config_of(t) for rung in going for t, _ in rung}
    table = []
    for k, n_seeds in enumerate(fidelity.seeds):
        at = [t for t in trials if rungs.rung_of(t) == k]
        states = [outcome_of(t) for t in at]
        higher = {rungs.config_of(t) for t in trials if rungs.rung_of(t) > k and outcome_of(t).counted}
        idle = sum(o == Outcome.COMPLETE and rungs.config_of(t) not in higher | due
                   for t, o in zip(at, states, strict=True)) if k < len(fidelity.seeds) - 1 else 0
        settled = k >= len(decided) or decided[k]
        table.append({"seeds": n_seeds, "finished": states.count(Outcome.COMPLETE),
                      "failed": states.count(Outcome.FAILED), "running": states.count(Outcome.RUNNING),
                      "interrupted": states.count(Outcome.INTERRUPTED),
                      "stopped": idle if settled else 0, "waiting": 0 if settled else idle})
    return {"rungs": table, "due": len(due)}


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
        fidelity = spec.arms[i].fidelity
        counts = arm_counts(trials, 0 if fidelity is None else len(fidelity.seeds) - 1)
        points = counts.pop("points")
        if fidelity is not None:
            counts.update(rung_counts(trials, fidelity, spec, store.effective_budget(attrs, budget)))
        arms.append({
            "arm": name, **({"replicate": replicate} if spec.arms[i].replicates > 1 else {}),
            "method": spec.arms[i].method, "searcher": spec.arms[i].searcher.type,
            "budget": store.effective_budget(attrs, budget), "spec_budget": budget, **counts,
            "pick": front_pick(points, directions),
        })
    return arms
