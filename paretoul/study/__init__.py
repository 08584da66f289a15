"""Studies: what a study means (:mod:`.spec`), how it searches (:mod:`.search`), where its
results live (:mod:`.storage`), and its launch (:mod:`.runner`) and validation
(:mod:`.validation`).

Names are imported lazily, so reading one part does not pay for Optuna, pydantic and Ray
Tune's driver side.
"""

from __future__ import annotations

from paretoul._lazy import lazy_exports

_EXPORTS = {
    "LaunchOptions": "paretoul.study.runner",
    "launch_summary": "paretoul.study.runner",
    "resume_summary": "paretoul.study.runner",
    "study_status": "paretoul.study.storage.status",
    "StudySpec": "paretoul.study.spec",
    "load_spec": "paretoul.study.spec",
    "parse_spec": "paretoul.study.spec",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports("paretoul.study", _EXPORTS, globals())
