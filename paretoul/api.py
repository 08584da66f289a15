"""The notebook API: launch, resume or open a study, and work with it through one object.

    study = paretoul.launch_study("studies/quickstart.yaml")   # or a dict, or a StudySpec
    study.status(); study.trials_dataframe(); study.front(); study.compare()
    choice = study.choose("knee"); study.export(choice, "model.pt"); study.report()

Every ``paretoul`` study command is a call here: the CLI parses, calls, prints. A
:class:`Study` reads the database afresh on every call, so it follows a study that another
process is still running.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretoul.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from paretoul.pareto.choose import Choice
    from paretoul.study.spec import StudySpec
    from paretoul.study.storage.records import StudyData

log = logging.getLogger("paretoul")

FRONT_GROUPS = ("arm", "method", "searcher", "overall", "all")


class Study:
    """A study directory (its spec, meta and results database) and what can be done with it."""

    def __init__(self, directory: str | Path, storage: str | None = None,
                 summary: dict[str, Any] | None = None) -> None:
        from paretoul.study.storage.layout import load_study_spec

        self.directory = Path(directory)
        self.storage = storage
        self.spec: StudySpec = load_study_spec(self.directory)
        self.summary = summary
        """What the launch or resume that made this object returned (None for :func:`open_study`)."""

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"Study({self.name!r}, {str(self.directory)!r})"

    def data(self) -> StudyData:
        """Every trial record, read now (:class:`~paretoul.study.storage.records.StudyData`)."""
        from paretoul.study.storage.records import load_study_data

        return load_study_data(self.directory, self.storage)

    def status(self) -> dict[str, Any]:
        """Per arm: budget, finished, failed, in flight, one front trial (``paretoul study status``)."""
        from paretoul.study.storage.status import study_status

        return study_status(self.directory, self.storage, self.spec)

    def trials_dataframe(self) -> pd.DataFrame:
        """One row per trial: key, arm, replicate, method, searcher, number, state, every
        parameter (``params.<name>``), every objective, every metric's mean and sample std over
        the seeds (``<metric>`` and ``<metric>_std``), the gradient conflict (``grad_cos``,
        ``grad_conflict``; empty where the method did not measure it), the seeds, ``seeds_done``
        (how many), ``full`` (measured on every search seed: the rows every analysis uses; a
        ``fidelity`` arm's configurations stopped at a lower rung are False) and the error."""
        import pandas as pd

        data = self.data()
        rows = []
        for r in [*data.records, *data.partial]:
            row: dict[str, Any] = {"key": r.key, "arm": r.arm, "replicate": r.replicate,
                                   "method": r.method, "searcher": r.searcher, "number": r.number,
                                   "state": r.state}
            row.update({f"params.{k}": v for k, v in r.params.items()})
            row.update({f"objective.{o}": v
                        for o, v in zip(data.objectives, r.objectives or (), strict=False)})
            for m, v in r.metrics.items():
                row[m] = v
                row[f"{m}_std"] = r.metrics_std.get(m)
            for k in ("grad_cos", "grad_conflict"):
                row[k] = r.conflict.get(k)
            row["seeds"] = list(r.seeds)
            row["seeds_done"] = r.seeds_done
            row["full"] = r.state == "complete" and r.seeds_done == len(data.search_seeds)
            row["error"] = r.error
            rows.append(row)
        return pd.DataFrame(rows)

    def front(self, by: str = "arm") -> dict[str, Any]:
        """The Pareto front and hypervolume per ``by`` (``arm``, ``method``, ``searcher``), the
        study's ``overall`` front, or ``all`` of them with the normalisation and the trial counts
        (what ``paretoul front --json`` prints, less the comparisons)."""
        from paretoul.pareto.summary import summarise_fronts

        if by not in FRONT_GROUPS:
            raise UserError("by", f"{by!r}; allowed: {', '.join(FRONT_GROUPS)}")
        summary = summarise_fronts(self.data())
        if by == "all":
            return summary
        return summary["overall"] if by == "overall" else summary[f"{by}s"]

    def compare(self, on: str | None = None) -> dict[str, Any]:
        """Jacobian descent vs fixed weights, per matched comparison (``paretoul compare``): each
        one's ``design`` (``paired by w`` or ``unpaired``), its front figures, and for a paired
        one ``paired`` (per w the paired per-seed differences with intervals)."""
        from paretoul.pareto.compare import compare_study

        return compare_study(self.data(), on)

    def choose(self, rule: str = "knee", on: str | None = None, **options: Any) -> Choice:
        """One operating point by ``rule`` (``knee``, ``weights``, ``compromise``, ``constrained``,
        ``closest-to-retrain``, ``oracle-free``), always selected on the search seeds; ``options``
        as ``paretoul choose`` takes them (``weights``, ``p``, ``max_retain_drop``,
        ``min_test_acc``). ``choice.measured`` holds its figures on ``on``'s seeds (default: the
        validation seeds when the study has them for this trial)."""
        from dataclasses import replace

        from paretoul.pareto.choose import choose, measured

        data = self.data()
        c = choose(data, rule, **options)
        return replace(c, measured=measured(data, c.record, on))

    def export(self, choice: Choice, path: str | Path, seed: int | None = None,
               cache_dir: str | Path | None = None) -> dict[str, Any]:
        """Re-run the chosen trial on ``seed`` and write its weights and sidecar to ``path``
        (load them with :func:`paretoul.load_model`)."""
        from paretoul.pareto.export import export_trial

        return export_trial(self.data(), choice.record, path, seed=seed, cache_dir=cache_dir)

    def report(self, out: str | Path | None = None, rule: str = "knee", on: str | None = None,
               **options: Any) -> dict[str, Path]:
        """Write ``report.md``, ``report.html`` and every plot (default ``<study>/report``)."""
        from paretoul.report.build import write_report

        return write_report(self.directory, out, rule=rule, storage_url=self.storage,
                            rule_options=options, on=on)

    def plot(self, out: str | Path | None = None) -> dict[str, Path]:
        """Every plot as PNG (+ SVG); returns each plot's PNG path."""
        from paretoul.pareto.choose import choose
        from paretoul.report.build import make_plots

        data = self.data()
        target = Path(out) if out else self.directory / "report"
        return make_plots(data, target, choose(data, "knee") if data.candidates() else None)

    def validate(self, seeds: list[int] | None = None, **options: Any) -> dict[str, Any]:
        """Re-evaluate the delivered trials on held-out seeds (``paretoul validate``)."""
        from paretoul.pareto.validate import validate_study

        return validate_study(self.directory, seeds, storage=self.storage, **options)

    def audit(self, trial: str | None = None, models: int = 8, **options: Any) -> dict[str, Any]:
        """The unlearning-challenge audit of a trial (default: the knee choice; ``paretoul audit``)."""
        from paretoul.audit.study import audit_trial

        return audit_trial(self.directory, trial, models, storage=self.storage, **options)


def _options(out: str | Path | None, storage: str | None, address: str | None,
             max_concurrent: int | None, quiet: bool, cache_dir: str | Path | None) -> Any:
    from paretoul.study.runner import LaunchOptions

    if max_concurrent is not None and max_concurrent < 1:
        raise UserError("max_concurrent", f"{max_concurrent} must be >= 1")
    return LaunchOptions(out=out, address=address, storage=storage, max_concurrent=max_concurrent,
                         quiet=quiet, cache_dir=cache_dir)


def _with_report(summary: dict[str, Any], directory: Path, storage: str | None) -> dict[str, Any]:
    """The study's report after a run that completed it; a failure is logged, never fatal (the
    results are safe in the database). A study that was already complete keeps its report."""
    if summary.get("already_complete") or not summary.get("complete"):
        return summary
    try:
        from paretoul.report.build import write_report

        paths = write_report(directory, storage_url=storage)
        summary["report"] = str(paths["html"])
        summary["headline"] = json.loads((paths["html"].parent / "headline.json").read_text())
    except Exception as e:
        log.warning("report: could not be written (%s: %s); run `paretoul report %s`",
                    type(e).__name__, e, directory)
        summary["report"] = None
    return summary


def launch_study(spec: str | Path | dict[str, Any] | StudySpec, out: str | Path | None = None, *,
                 storage: str | None = None, address: str | None = None,
                 max_concurrent: int | None = None, quiet: bool = False,
                 cache_dir: str | Path | None = None) -> Study:
    """Run every arm of a study (on a local Ray, or the cluster at ``address``), write its report,
    and return the :class:`Study`. ``spec``: a YAML file, a mapping, or a ``StudySpec``; ``out``:
    the study directory (default ``runs/study-<name>``). Ctrl-C stops it cleanly
    (:class:`~paretoul.errors.StudyInterrupted`); :func:`resume_study` continues it."""
    from paretoul.study import runner
    from paretoul.study.spec import StudySpec, parse_spec

    opts = _options(out, storage, address, max_concurrent, quiet, cache_dir)
    if isinstance(spec, StudySpec):
        parsed, path = spec, None
    elif isinstance(spec, dict):
        parsed, path = parse_spec(spec), None
    else:
        parsed, path = None, spec
    summary = runner.launch_study(path, opts, spec=parsed)
    directory = Path(summary["dir"])
    return Study(directory, storage, _with_report(summary, directory, storage))


def resume_study(path: str | Path, *, storage: str | None = None, address: str | None = None,
                 max_concurrent: int | None = None, quiet: bool = False,
                 cache_dir: str | Path | None = None) -> Study:
    """Continue an interrupted study (finished trials are never rerun) and return it; a complete
    study returns at once, ``summary["already_complete"]`` true."""
    from paretoul.study import runner

    opts = _options(None, storage, address, max_concurrent, quiet, cache_dir)
    summary = runner.resume_study(path, opts)
    return Study(path, storage, _with_report(summary, Path(path), storage))


def open_study(path: str | Path, storage: str | None = None) -> Study:
    """An existing study directory, to read (nothing runs); ``storage``: its database URL when it
    is not the one the directory records. A directory without a study is a one-line
    :class:`~paretoul.errors.UserError`."""
    return Study(path, storage)
