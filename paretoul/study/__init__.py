"""Studies: specs, searchers (Optuna, pymoo, grid, random), Ray Tune execution, the results database.

Names are imported lazily, so a Ray worker importing ``paretoul.study.trial`` does not pay
for Optuna, pydantic and Ray Tune's driver side.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "LaunchOptions": "paretoul.study.runner",
    "launch_study": "paretoul.study.runner",
    "resume_study": "paretoul.study.runner",
    "study_status": "paretoul.study.status",
    "StudySpec": "paretoul.study.spec",
    "load_spec": "paretoul.study.spec",
    "parse_spec": "paretoul.study.spec",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
