"""The study directory: which files it holds, and how a study's spec, meta and database URL
are read back from it (by ``resume``, ``status`` and every analysis command).

``spec.yaml``: the validated spec as launched (a database password never written);
``study.json``: meta — the masked storage URL, library versions, every launch's figures and
the original's and oracle's metrics per seed; ``study.db``: the default results database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from paretoul.errors import UserError
from paretoul.fileio import atomic_write
from paretoul.study.spec import StudySpec, parse_spec
from paretoul.study.storage import store

SPEC_FILE = "spec.yaml"
META_FILE = "study.json"
BASELINES = "baselines"
"""The key, in ``study.json`` and in the validation study's user attrs, of the original's and
the oracle's metrics per seed."""
_OLD_BASELINES = "reference"  # what studies written before 2026-12 call it


def load_study_spec(d: Path) -> StudySpec:
    """The spec a study in ``d`` was launched with; a directory without one is a UserError."""
    if not d.is_dir():
        raise UserError("study", f"no such study directory: {d}")
    if not (d / SPEC_FILE).is_file():
        raise UserError("study", f"{d} holds no study ({SPEC_FILE} missing)")
    return parse_spec(yaml.safe_load((d / SPEC_FILE).read_text()), str(d / SPEC_FILE))


def storage_url_of(d: Path, spec: StudySpec, given: str | None) -> str:
    """The study's database URL: ``given``, else the spec's, else the one it was launched with —
    from ``$PARETOUL_STORAGE`` if that URL holds a password (never written to disk) — else
    ``<dir>/study.db``."""
    if given:
        return given
    if spec.storage:
        return spec.storage
    meta = read_meta(d)
    if meta.get("storage_url"):
        return meta["storage_url"]
    if meta.get("storage_env"):
        url = os.environ.get("PARETOUL_STORAGE")
        if not url:
            raise UserError("storage", f"this study uses {meta['storage']}; pass storage=URL "
                            "(or set PARETOUL_STORAGE)", cli=f"this study uses {meta['storage']}; "
                            "pass --storage URL (or set PARETOUL_STORAGE)")
        return url
    return store.default_storage_url(d)


def read_meta(d: Path) -> dict[str, Any]:
    p = d / META_FILE
    return json.loads(p.read_text()) if p.exists() else {}


def write_meta(d: Path, meta: dict[str, Any]) -> None:
    """Replace ``study.json`` atomically (a reader never sees half a file)."""
    atomic_write(d / META_FILE, json.dumps(meta, indent=1))


def baselines_of(attrs: dict[str, Any]) -> dict[str, Any]:
    """Seed -> {"original": metrics, "oracle": metrics} from a study's meta or its validation
    study's user attrs (an older study's ``reference`` key is read as well)."""
    return dict(attrs.get(BASELINES, attrs.get(_OLD_BASELINES, {})))
