"""paretoul: map and choose the forget-vs-retain trade-off of machine-unlearning methods.

The Python API mirrors the ``paretoul`` command: everything the CLI does is a
function here. The names below are loaded on first use (``import paretoul`` stays cheap:
no torch, scikit-learn or scipy until a name that needs them is touched).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretoul._lazy import lazy_exports
from paretoul.redact import install_log_filter

install_log_filter()  # database passwords never reach a log line

_EXPORTS: dict[str, str] = {
    "Study": "paretoul.api",
    "launch_study": "paretoul.api",
    "open_study": "paretoul.api",
    "resume_study": "paretoul.api",
    "Artefacts": "paretoul.artefacts",
    "prepare": "paretoul.artefacts",
    "ArtefactCache": "paretoul.cache",
    "DATASETS": "paretoul.data",
    "ForgetSpec": "paretoul.data",
    "Splits": "paretoul.data",
    "load_dataset": "paretoul.data",
    "make_splits": "paretoul.data",
    "ReportFailed": "paretoul.errors",
    "StudyInterrupted": "paretoul.errors",
    "StudyStopped": "paretoul.errors",
    "UnlearningDiverged": "paretoul.errors",
    "UserError": "paretoul.errors",
    "METHODS": "paretoul.methods",
    "get_method": "paretoul.methods",
    "METRICS": "paretoul.metrics",
    "evaluate": "paretoul.metrics",
    "MODELS": "paretoul.models",
    "build_model": "paretoul.models",
    "load_model": "paretoul.pareto.export",
    "RunConfig": "paretoul.one_run",
    "run": "paretoul.one_run",
    "unlearn_and_evaluate": "paretoul.one_run",
    "Recipe": "paretoul.training",
    "Setting": "paretoul.setting",
    "default_recipe": "paretoul.training",
}

_export, __dir__ = lazy_exports("paretoul", _EXPORTS, globals())


def __getattr__(name: str) -> object:
    if name == "__version__":  # one source, pyproject.toml; read on first use (about 30 ms)
        from importlib import metadata

        globals()[name] = metadata.version("paretoul")
        return globals()[name]
    return _export(name)

if TYPE_CHECKING:  # for type checkers and IDEs: the real names
    from paretoul.api import Study, launch_study, open_study, resume_study
    from paretoul.artefacts import Artefacts, prepare
    from paretoul.cache import ArtefactCache
    from paretoul.data import DATASETS, ForgetSpec, Splits, load_dataset, make_splits
    from paretoul.errors import (
        ReportFailed,
        StudyInterrupted,
        StudyStopped,
        UnlearningDiverged,
        UserError,
    )
    from paretoul.methods import METHODS, get_method
    from paretoul.metrics import METRICS, evaluate
    from paretoul.models import MODELS, build_model
    from paretoul.one_run import RunConfig, run, unlearn_and_evaluate
    from paretoul.pareto.export import load_model
    from paretoul.setting import Setting
    from paretoul.training import Recipe, default_recipe

__all__ = [
    "DATASETS",
    "METHODS",
    "METRICS",
    "MODELS",
    "ArtefactCache",
    "Artefacts",
    "ForgetSpec",
    "Recipe",
    "ReportFailed",
    "RunConfig",
    "Setting",
    "Splits",
    "Study",
    "StudyInterrupted",
    "StudyStopped",
    "UnlearningDiverged",
    "UserError",
    "build_model",
    "default_recipe",
    "evaluate",
    "get_method",
    "launch_study",
    "load_dataset",
    "load_model",
    "make_splits",
    "open_study",
    "prepare",
    "resume_study",
    "run",
    "unlearn_and_evaluate",
]
