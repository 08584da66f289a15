"""Export a chosen trial's unlearned model: re-run it deterministically and check the metrics.

The study keeps no weights, so the trial is run again from its recorded configuration
on one of its seeds (same splits, original model and method seed) and its metrics are
compared with the recorded ones; the export is refused when they differ by more than
the tolerance (a different device or thread count can change floating-point results).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch

from paretoul.artefacts import prepare
from paretoul.errors import UserError
from paretoul.fileio import atomic_write
from paretoul.models import build_model
from paretoul.one_run import library_versions, machine_facts, unlearn_and_evaluate
from paretoul.study.storage.records import StudyData, TrialRecord

EXPORT_FORMAT = "paretoul-export-1"
"""The sidecar's layout: what :func:`load_model` needs to rebuild the model."""
TOLERANCE = 1e-6
"""Largest accepted |re-run - recorded| of any metric (percentage points), run time excluded."""


def safe_export_path(path: str | Path, base: str | Path = ".") -> Path:
    """Where to write ``path``: a relative path must stay inside ``base`` (default the current
    directory) once ``..`` and every symlink on the way (the file itself included) are
    resolved; an absolute path is the user's own choice and is taken as given.

    A path that escapes is a one-line :class:`UserError` naming the field ``export``.
    """
    p = Path(path)
    if p.is_absolute():
        return p
    root = Path(base).resolve()
    full = (root / p).resolve()
    if full == root:
        raise UserError("export", f"{path} is the folder {root} itself; give a file name")
    if root not in full.parents:
        raise UserError("export", f"{path} resolves to {full}, outside {root}; give a path inside "
                        "it or an absolute path")
    return full


def export_target(path: str | Path, base: str | Path = ".", overwrite: bool = False
                  ) -> tuple[Path, Path]:
    """The weights file and its JSON sidecar for ``path`` (see :func:`safe_export_path`); an
    existing file at either is never overwritten unless ``overwrite``, and a symlink there (even
    a dangling one) never is."""
    target = safe_export_path(path, base)
    side = target.with_name(target.name + ".json")
    given = Path(path) if Path(path).is_absolute() else Path(base).resolve() / path
    for p in (given, given.with_name(given.name + ".json"), target, side):
        if p.is_symlink() or (p.exists() and not (overwrite and p.is_file())):
            raise UserError("export", f"{p} already exists; remove it or give another path"
                            + ("" if p.is_symlink() else " (or pass overwrite=True)"),
                            cli=f"{p} already exists; remove it or give another path")
    return target, side


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (never following a symlink there, never replacing a file)."""
    try:
        with open(path, "xb") as f:
            f.write(data)
    except FileExistsError:
        raise UserError("export", f"{path} already exists; remove it or give another path") from None


def export_trial(data: StudyData, record: TrialRecord, path: str | Path, seed: int | None = None,
                 cache_dir: str | Path | None = None, tolerance: float = TOLERANCE,
                 overwrite: bool = False) -> dict[str, Any]:
    """Re-run ``record`` on ``seed`` (default its first search seed; a validation seed it was
    evaluated on is allowed too), write weights + a JSON sidecar (``overwrite``: replacing an
    earlier export's files, each atomically)."""
    spec = data.spec
    target, side = export_target(path, overwrite=overwrite)  # checked now and when writing
    seeds = record.seeds or list(spec.seeds)
    validated = data.validation.get(record.key, {})
    seed = seeds[0] if seed is None else seed
    if seed not in seeds and seed not in validated:
        extra = f" or its validation seeds {sorted(validated)}" if validated else ""
        raise UserError("seed", f"{seed} is not one of the trial's seeds {seeds}{extra}")
    torch.set_num_threads(max(1, int(spec.resources.cpus)))  # as the trial ran
    art = prepare(spec.setting, [seed], cache_dir=cache_dir)[0]
    run = unlearn_and_evaluate(art, record.method, record.params)
    if seed in validated and seed not in seeds:
        recorded = validated[seed]
    else:
        recorded = record.metrics_per_seed[seeds.index(seed)] if record.metrics_per_seed else record.metrics
    diffs = {k: abs(run.metrics[k] - v) for k, v in recorded.items() if k != "rte" and k in run.metrics}
    worst = max(diffs.values(), default=0.0)
    sidecar = {
        "study": data.name, "arm": record.arm, "replicate": record.replicate, "key": record.key,
        "method": record.method, "trial": record.number,
        "params": run.params, "seed": seed, "dataset": spec.dataset, "model": spec.model_name,
        "input_shape": list(art.data.input_shape), "num_classes": art.data.num_classes,
        "normalisation": art.data.normalisation, "format": EXPORT_FORMAT,
        "forget": spec.forget, "metrics": run.metrics, "recorded_metrics": recorded,
        "max_abs_difference": worst, "tolerance": tolerance, "versions": library_versions(),
        "machine": machine_facts(),
    }
    if worst > tolerance:
        bad = max(diffs, key=diffs.get)
        raise UserError("export", f"the re-run does not reproduce the recorded metrics ({bad} differs "
                        f"by {worst:.3g} > {tolerance:g}); nothing written")
    target.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save({k: v.cpu() for k, v in run.model.state_dict().items()}, buf)
    if overwrite:
        export_target(path, overwrite=True)  # still no symlink there
        atomic_write(target, buf.getvalue())
        atomic_write(side, json.dumps(sidecar, indent=2).encode())
    else:
        _write_new(target, buf.getvalue())
        _write_new(side, json.dumps(sidecar, indent=2).encode())
    return {"weights": str(target), "sidecar": str(side), **sidecar}


def load_model(path: str | Path) -> torch.nn.Module:
    """The exported model at ``path`` (its weights file; the ``.json`` sidecar beside it says
    how to rebuild it), on the CPU in eval mode, ready for inference. Inputs are prepared as
    the sidecar's ``normalisation`` says: ``(raw / divide_by - mean[c]) / std[c]``, shaped
    ``input_shape`` per example. The weights load with ``weights_only=True``."""
    weights = Path(path)
    side = weights.with_name(weights.name + ".json")
    try:
        info = json.loads(side.read_text())
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise UserError("path", f"{e.filename} not found (an export writes the weights and "
                        "<weights>.json beside them)") from None
    except (OSError, ValueError, RuntimeError) as e:
        raise UserError("path", f"{weights}: not a paretoul export ({type(e).__name__})") from None
    missing = [k for k in ("model", "input_shape", "num_classes") if k not in info]
    if missing:
        raise UserError("path", f"{side} lacks {', '.join(missing)} (exported by an older paretoul; "
                        "export the trial again)")
    model = build_model(info["model"], tuple(info["input_shape"]), int(info["num_classes"]))
    model.load_state_dict(state)
    return model.eval()
