"""Which finished trials ``paretoul validate`` re-evaluates on held-out seeds, and the call.

The targets are what the figures measured on validation seeds need: the fronts every
comparison's search runs delivered (full and equal budget, :func:`comparison_trials`), each
method's table row (:func:`method_representatives`) and the operating point chosen by the
given rule — all selected on the search seeds. The evaluations themselves are run and
recorded by :mod:`paretoul.study.validation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paretoul.errors import UserError
from paretoul.pareto.choose import check_rule, choose
from paretoul.pareto.compare import comparison_trials
from paretoul.pareto.summary import method_representatives
from paretoul.study.storage.layout import storage_url_of
from paretoul.study.storage.records import StudyData, TrialRecord, load_study_data
from paretoul.study.validation import Target, check_validation_seeds, run_validation


def validation_targets(data: StudyData, rule: str = "knee",
                       rule_options: dict[str, Any] | None = None) -> list[TrialRecord]:
    """The trials to validate, each once, in a stable order (comparisons, table rows, choice)."""
    out: dict[str, TrialRecord] = {}
    for r in comparison_trials(data) + list(method_representatives(data).values()):
        out.setdefault(r.key, r)
    if data.finished():
        chosen = choose(data, rule, **(rule_options or {})).record
        out.setdefault(chosen.key, chosen)
    return list(out.values())


def validate_study(study_dir: str | Path, seeds: list[int] | None = None, *, rule: str = "knee",
                   rule_options: dict[str, Any] | None = None, storage: str | None = None,
                   local: bool = False, address: str | None = None,
                   cache_dir: str | Path | None = None, quiet: bool = False) -> dict[str, Any]:
    """Re-evaluate a study's front trials, table rows and chosen point on held-out ``seeds``
    (new splits, original, oracle and method seed each; see :mod:`paretoul.study.validation`).

    ``seeds`` join the study's validation seeds; None: the ones it already has (to evaluate
    trials added since). Returns what was evaluated, what was already recorded and the wall
    time. ``local``: run in this process instead of as Ray tasks."""
    check_rule(rule, **(rule_options or {}))
    data = load_study_data(study_dir, storage)
    new = check_validation_seeds(data.spec, list(seeds or []))
    if not new and not data.validation_seeds:
        raise UserError("seeds", "this study has no validation seeds yet; give some the search "
                        "never saw, e.g. seeds=[100, 101, 102]", cli="this study has no validation "
                        "seeds yet; give some the search never saw, e.g. --seeds 100,101,102")
    if not data.finished():
        raise UserError("study", f"{data.directory} has no finished trial to validate")
    targets = [Target(r.key, r.method, dict(r.params))
               for r in validation_targets(data, rule, rule_options)]
    url = storage or storage_url_of(Path(study_dir), data.spec, None)
    return run_validation(data.spec, Path(study_dir), url, targets, new, local=local,
                          address=address, cache_dir=cache_dir, quiet=quiet)
