"""Held-out-seed evaluations (``paretoul validate``): finished search trials re-run on seeds the
search never saw, recorded apart from the search.

For each validation seed the study's setting is rebuilt from scratch — new splits, original,
oracle and method seed, all derived from that seed as for a search seed (so the original and
oracle come from the same content-addressed cache). Each (trial, seed) evaluation is one trial
of the Optuna study :func:`~paretoul.study.storage.store.validation_study_name` in the study's own
database, its values the objectives on that seed and its user attributes the search trial's
key, the seed and every metric. The arms' searchers never read that study, so a validation
can never move a search. An evaluation already recorded is never run again: an interrupted
``validate`` continues where it stopped.

The evaluations run as Ray tasks (one per trial, on a local Ray or a cluster's), or in this
process with ``local=True``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from paretoul.data import check_seed
from paretoul.errors import UserError
from paretoul.execution.fanout import TaskPool, first_line
from paretoul.execution.trial import prepare_shared, run_trial
from paretoul.study.spec import StudySpec
from paretoul.study.storage import store
from paretoul.study.storage.layout import BASELINES, baselines_of, read_meta, write_meta


@dataclass(frozen=True)
class Target:
    """A finished search trial to evaluate on the validation seeds."""

    key: str
    """``ARM#K`` (``ARM@rR#K`` for replicate R)."""
    method: str
    params: dict[str, Any]


def check_validation_seeds(spec: StudySpec, seeds: list[int], field: str = "seeds") -> list[int]:
    """Distinct valid seeds, none of them a search seed (a held-out seed the search never saw)."""
    out: list[int] = []
    for s in seeds:
        check_seed(s, field)
        if s in out:
            raise UserError(field, f"seed {s} is given twice")
        out.append(int(s))
    search = [s for s in out if s in spec.seeds]
    if search:
        raise UserError(field, f"{search[0]} is a search seed of this study (search seeds "
                        f"{', '.join(map(str, spec.seeds))}); validation seeds must be seeds the "
                        "search never saw")
    return out


def _recorded(study: optuna.Study) -> set[tuple[str, int]]:
    return {(t.user_attrs["trial"], int(t.user_attrs["seed"])) for t in study.get_trials(deepcopy=False)
            if "trial" in t.user_attrs and "seed" in t.user_attrs and t.state.is_finished()}


def _record(study: optuna.Study, spec: StudySpec, target: Target, seed: int,
            metrics: dict[str, float] | None, error: str | None, extra: dict[str, Any]) -> bool:
    """Store one evaluation; True when it finished with finite objectives."""
    objectives = [o.metric for o in spec.objectives]
    values = None
    if metrics is not None and error is None:
        vals = [metrics.get(o) for o in objectives]
        if all(v is not None and math.isfinite(v) for v in vals):
            values = [float(v) for v in vals]  # type: ignore[arg-type]
        else:
            error = "an objective is missing, NaN or infinite"
    attrs = {"trial": target.key, "seed": seed, "method": target.method,
             "params_full": target.params, **extra}
    if values is not None:
        attrs["metrics"] = metrics
    else:
        attrs["error"] = error or "the evaluation failed without a result"
    S = optuna.trial.TrialState
    study.add_trial(optuna.trial.create_trial(
        state=S.COMPLETE if values is not None else S.FAIL, values=values, user_attrs=attrs))
    return values is not None


Job = tuple[Target, list[int]]


def run_validation(spec: StudySpec, study_dir: Path, storage_url: str, targets: list[Target],
                   seeds: list[int], *, local: bool = False, address: str | None = None,
                   cache_dir: str | Path | None = None, quiet: bool = False) -> dict[str, Any]:
    """Evaluate ``targets`` on every validation seed (the study's earlier ones and ``seeds``)
    where not yet recorded, and record each evaluation as it finishes."""
    t0 = time.perf_counter()
    seeds = check_validation_seeds(spec, seeds)
    storage = store.open_storage(storage_url)
    try:
        study = store.arm_study(storage, store.validation_study_name(spec.name), None,
                                spec.directions(), names=[o.metric for o in spec.objectives])
        known = [int(s) for s in study.user_attrs.get("seeds", [])]
        all_seeds = known + [s for s in seeds if s not in known]
        if not all_seeds:
            raise UserError("seeds", "give the validation seeds, e.g. seeds=[100, 101, 102]",
                            cli="give the validation seeds, e.g. --seeds 100,101,102")
        done = _recorded(study)
        jobs = [(t, [s for s in all_seeds if (t.key, s) not in done]) for t in targets]
        jobs = [(t, ss) for t, ss in jobs if ss]
        summary: dict[str, Any] = {"seeds": all_seeds, "trials": [t.key for t in targets],
                                   "evaluations": 0, "failed": 0,
                                   "already_recorded": len(targets) * len(all_seeds)
                                   - sum(len(ss) for _, ss in jobs)}
        if jobs:
            needed = sorted({s for _, ss in jobs for s in ss})
            shared, baselines = prepare_shared(spec.setting, needed, cpus=spec.resources.cpus,
                                               timeout_s=spec.trial_timeout_s, cache_dir=cache_dir,
                                               quiet=quiet)
            recorded = baselines_of(study.user_attrs)
            recorded.update({s: {"original": b["original"], "oracle": b["oracle"]}
                             for s, b in baselines.items()})
            study.set_user_attr(BASELINES, recorded)
            study.set_user_attr("seeds", all_seeds)
            summary.update(_evaluate(study, spec, jobs, shared, local, address, quiet))
        elif seeds:
            study.set_user_attr("seeds", all_seeds)
    finally:
        store.close(storage)
    summary["wall_s"] = time.perf_counter() - t0
    meta = read_meta(study_dir)
    meta.setdefault("validation_runs", []).append(
        {k: summary[k] for k in ("seeds", "evaluations", "failed", "already_recorded", "wall_s")})
    write_meta(study_dir, meta)
    return summary


def _evaluate(study: optuna.Study, spec: StudySpec, jobs: list[Job],
              shared: Any, local: bool, address: str | None, quiet: bool) -> dict[str, int]:
    """Run each job as one trial (on Ray, one task each, or ``local``) and record every seed."""
    counts = {"evaluations": 0, "failed": 0}
    calls = [({"method": t.method, "params": t.params, "seeds": seeds},) for t, seeds in jobs]
    total = sum(len(ss) for _, ss in jobs)
    with TaskPool(address, spec.resources.cpus, spec.resources.gpus, local=local) as pool:
        for i, result, error in pool.map(run_trial, calls, shared, retries=spec.max_failures):
            target, wanted = jobs[i]
            if error is not None:  # the worker died (out of memory, killed)
                result = {"error": first_line(error)}
            per_seed = dict(zip(result.get("seeds", []), result.get("metrics_per_seed", []),
                                strict=False))
            extra = {k: result[k] for k in ("node", "pid", "cpu_kernels", "trial_s") if k in result}
            for s in wanted:
                ok = _record(study, spec, target, s, per_seed.get(s), result.get("error"), extra)
                counts["evaluations"] += 1
                counts["failed"] += not ok
            if not quiet:
                state = f"failed: {result['error']}" if result.get("error") else (
                    ", ".join(f"{o.metric} {result.get(o.metric, float('nan')):.3f}"
                              for o in spec.objectives))
                print(f"validate {target.key} on seeds {', '.join(map(str, wanted))}: {state} "
                      f"({result.get('trial_s', 0.0):.1f} s) [{counts['evaluations']}/{total}]",
                      flush=True)
    return counts
