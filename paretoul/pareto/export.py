"""Export a chosen trial's unlearned model: re-run it deterministically and check the metrics.

The study keeps no weights, so the trial is run again from its recorded configuration
on one of its seeds (same splits, original model and method seed) and its metrics are
compared with the recorded ones; the export is refused when they differ by more than
the tolerance (a different device or thread count can change floating-point results).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from paretoul.artefacts import prepare
from paretoul.errors import UserError
from paretoul.pareto.records import StudyData, TrialRecord
from paretoul.run import library_versions, unlearn_and_evaluate

TOLERANCE = 1e-6
"""Largest accepted |re-run - recorded| of any metric (percentage points), run time excluded."""


def safe_export_path(path: str | Path, base: str | Path = ".") -> Path:
    """A relative path may not leave ``base`` (through ``..`` or a symlink); absolute paths are the
    user's own choice."""
    p = Path(path)
    if p.is_absolute():
        return p
    root = Path(base).resolve()
    full = (root / p).resolve()
    if full != root and root not in full.parents:
        raise UserError("export", f"{path} leaves {root}; give a path inside it or an absolute path")
    return full


def export_trial(data: StudyData, record: TrialRecord, path: str | Path, seed: int | None = None,
                 cache_dir: str | Path | None = None, tolerance: float = TOLERANCE) -> dict[str, Any]:
    """Re-run ``record`` on ``seed`` (default its first), write weights + a JSON sidecar."""
    spec = data.spec
    target = safe_export_path(path)
    seeds = record.seeds or list(spec.seeds)
    seed = seeds[0] if seed is None else seed
    if seed not in seeds:
        raise UserError("seed", f"{seed} is not one of the trial's seeds {seeds}")
    torch.set_num_threads(max(1, int(spec.resources.cpus)))  # as the trial ran
    art = prepare(spec.dataset, spec.model_name, spec.forget, seed, spec.reference_fraction,
                  spec.recipe, spec.data_root, False, spec.device, cache_dir)
    run = unlearn_and_evaluate(art, record.method, record.params)
    recorded = record.metrics_per_seed[seeds.index(seed)] if record.metrics_per_seed else record.metrics
    diffs = {k: abs(run.metrics[k] - v) for k, v in recorded.items() if k != "rte" and k in run.metrics}
    worst = max(diffs.values(), default=0.0)
    sidecar = {
        "study": data.name, "arm": record.arm, "method": record.method, "trial": record.number,
        "params": run.params, "seed": seed, "dataset": spec.dataset, "model": spec.model_name,
        "forget": spec.forget, "metrics": run.metrics, "recorded_metrics": recorded,
        "max_abs_difference": worst, "tolerance": tolerance, "versions": library_versions(),
    }
    if worst > tolerance:
        bad = max(diffs, key=diffs.get)
        raise UserError("export", f"the re-run does not reproduce the recorded metrics ({bad} differs "
                        f"by {worst:.3g} > {tolerance:g}); nothing written")
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.cpu() for k, v in run.model.state_dict().items()}, target)
    side = target.with_suffix(target.suffix + ".json")
    side.write_text(json.dumps(sidecar, indent=2))
    return {"weights": str(target), "sidecar": str(side), **sidecar}
