"""Audits of a study's trials: the setting from the study's spec, the method and parameters
from the trial, the result stored with the study (``<study>/audits/``) for the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paretoul.errors import UserError
from paretoul.fileio import atomic_write
from paretoul.pareto.choose import choose
from paretoul.study.storage.records import load_study_data

AUDIT_DIR = "audits"


def find_trial(data: Any, key: str | None) -> Any:
    """The finished trial ``ARM#K`` (``ARM@rR#K`` for a replicate); None: the chosen point by
    the ``knee`` rule."""
    if key is None:
        return choose(data, "knee").record
    for r in data.finished():
        if r.key == key:
            return r
    known = ", ".join(r.key for r in data.finished()[:5])
    raise UserError("trial", f"no finished trial {key!r} in {data.directory} (e.g. {known})")


def audit_trial(study_dir: str | Path, key: str | None = None, models: int = 8, *,
                storage: str | None = None, **options: Any) -> dict[str, Any]:
    """Audit a trial of a study on the study's first seed and store the result (JSON) under
    ``<study>/audits/``; ``options`` go to :func:`~paretoul.audit.challenge.audit`."""
    from paretoul.audit.challenge import audit  # torch: loaded when an audit runs
    from paretoul.one_run import RunConfig

    data = load_study_data(study_dir, storage)
    record = find_trial(data, key)
    spec = data.spec
    cfg = RunConfig.from_setting(spec.setting, method=record.method, params=dict(record.params),
                                 seed=spec.seeds[0], cache_dir=options.pop("cache_dir", None))
    result = audit(cfg, models, cpus=options.pop("cpus", spec.resources.cpus), **options)
    result["trial"] = record.key
    path = audit_file(Path(study_dir), record.key, models)
    atomic_write(path, json.dumps(result, indent=1, default=float))
    result["stored"] = str(path)
    return result


def audit_file(study_dir: Path, key: str, models: int) -> Path:
    """``<study>/audits/<ARM>-<K>-N<models>.json`` (``#`` and ``/`` kept out of file names)."""
    return study_dir / AUDIT_DIR / f"{key.replace('#', '-').replace('/', '_')}-N{models}.json"


def stored_audits(study_dir: str | Path) -> list[dict[str, Any]]:
    """Every audit stored with the study, by trial and N."""
    d = Path(study_dir) / AUDIT_DIR
    if not d.is_dir():
        return []
    out = []
    for p in sorted(d.glob("*.json")):
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, ValueError):
            continue  # a damaged file is skipped; the audit can be rerun
    return sorted(out, key=lambda a: (a.get("trial", ""), a.get("models", 0)))
