"""The notebook API: launch, resume or open a study, and work with it through one object.

    study = paretoul.launch_study("studies/quickstart.yaml", load_if_exists=True)
    study.status(); study.trials_dataframe(); study.front(); study.compare()
    choice = study.choose("knee"); study.export(choice, "model.pt"); study.report()

Shaped like Optuna's: create or open (``load_if_exists``), run, resume; keyword arguments;
mistakes raise :class:`~paretoul.errors.UserError` (a ``ValueError``) worded for Python, and a
wrong keyword is Python's own ``TypeError``. Every ``paretoul`` study command is a call here:
the CLI parses, calls, prints. A :class:`Study` reads the database afresh on every call, so it
follows a study that another process is still running.
"""

from __future__ import annotations

import functools
import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from paretoul.errors import ReportFailed, UserError, choice_error

if TYPE_CHECKING:
    import pandas as pd

    from paretoul.pareto.choose import Choice
    from paretoul.study.spec import StudySpec
    from paretoul.study.storage.records import StudyData

log = logging.getLogger("paretoul")

FRONT_GROUPS = ("arm", "method", "searcher", "overall")

OLD_COLUMNS = {"params.": "params_", "objective.": "values_"}
"""``trials_dataframe()``'s column prefixes before they followed Optuna's (``params_lr``,
``values_forget_gap``); the old names still read, with a ``FutureWarning``, until 0.3."""


class Front(TypedDict):
    """One group's Pareto front: its hypervolume (normalised objectives, at most 1.21), its
    finished trials, its non-dominated points (``key``, ``method``, ``objectives``, ...) and how
    many of them the untouched original dominates."""

    hv: float
    finished: int
    front: list[dict[str, Any]]
    dominated_by_original: int


@functools.cache
def _trials_frame() -> type:
    """The DataFrame subclass, made once (pandas compares frames by type too)."""
    import pandas as pd

    class TrialsFrame(pd.DataFrame):
        """A DataFrame that still reads the pre-Optuna column names (``params.lr``)."""

        @property
        def _constructor(self) -> type:
            return TrialsFrame

        def __getitem__(self, key: Any) -> Any:
            return super().__getitem__(_renamed(self, key))

    return TrialsFrame


def _renamed(frame: Any, key: Any) -> Any:
    """``params.lr`` -> ``params_lr`` (with a FutureWarning) where only the new name exists."""
    if isinstance(key, list):
        return [_renamed(frame, k) for k in key]
    if isinstance(key, str) and key not in frame.columns:
        for old, new in OLD_COLUMNS.items():
            if key.startswith(old) and new + key[len(old):] in frame.columns:
                warnings.warn(f"column {key!r} is now {new + key[len(old):]!r} (Optuna's names); "
                              "the old name stops working in 0.3", FutureWarning, stacklevel=3)
                return new + key[len(old):]
    return key


class Study:
    """A study directory (its spec, meta and results database) and what can be done with it."""

    def __init__(self, directory: str | Path, *, storage: str | None = None,
                 summary: dict[str, Any] | None = None) -> None:
        from paretoul.study.storage.layout import load_study_spec

        self.directory = Path(directory)
        self.storage = storage
        self.spec: StudySpec = load_study_spec(self.directory)
        self._summary = summary

    @property
    def summary(self) -> dict[str, Any]:
        """The study's summary: :meth:`status`'s figures, plus ``report`` (the HTML report's path,
        or None) and ``headline`` (each comparison's verdict and the chosen point, or None). After
        a launch or resume it is what that run returned (``already_complete`` says whether it
        found nothing to do); otherwise it is read now."""
        if self._summary is None:
            summary = self.status()
            html = self.directory / "report" / "report.html"
            headline = html.parent / "headline.json"
            summary["report"] = str(html) if html.is_file() else None
            summary["headline"] = json.loads(headline.read_text()) if headline.is_file() else None
            return summary
        return self._summary

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
        parameter (``params_<name>``, as Optuna names them), every objective
        (``values_<name>``), every metric's mean and sample std over
        the seeds (``<metric>`` and ``<metric>_std``), the gradient conflict (``grad_cos``,
        ``grad_conflict``; empty where the method did not measure it), the seeds, ``seeds_done``
        (how many), ``full`` (measured on every search seed: the rows every analysis uses; a
        ``fidelity`` arm's configurations stopped at a lower rung are False) and the error."""
        data = self.data()
        rows = []
        for r in [*data.records, *data.partial]:
            row: dict[str, Any] = {"key": r.key, "arm": r.arm, "replicate": r.replicate,
                                   "method": r.method, "searcher": r.searcher, "number": r.number,
                                   "state": r.state}
            row.update({f"params_{k}": v for k, v in r.params.items()})
            row.update({f"values_{o}": v
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
        return _trials_frame()(rows)

    def front(self, by: str = "arm") -> dict[str, Front]:
        """The Pareto front and hypervolume of each group ``by`` ``arm``, ``method`` or
        ``searcher`` (group name -> :class:`Front`), or of the study's candidates as a whole
        (``overall``: ``{"overall": Front}``; references such as the noise-floor retrain are
        not candidates). Every group's HV uses one normalisation (:meth:`fronts` gives it)."""
        if by == "all":
            warnings.warn("front(by='all') is now fronts()", FutureWarning, stacklevel=2)
            return self.fronts()  # type: ignore[return-value]
        if by not in FRONT_GROUPS:
            raise choice_error("by", by, FRONT_GROUPS)
        summary = self.fronts()
        return {"overall": summary["overall"]} if by == "overall" else summary[f"{by}s"]

    def fronts(self) -> dict[str, Any]:
        """Every front at once, what ``paretoul front --json`` prints less the comparisons:
        ``arms``, ``methods``, ``searchers`` (each name -> :class:`Front`), ``overall``, the
        ``normalisation`` (HV reference point in objective units), ``trials`` (counts), the
        untouched ``original``'s point and each searcher's ``hv_history``."""
        from paretoul.pareto.summary import summarise_fronts

        return summarise_fronts(self.data())

    def compare(self, on: str | None = None) -> dict[str, Any]:
        """Jacobian descent vs fixed weights, per matched comparison (``paretoul compare``): each
        one's ``design`` (``paired by w`` or ``unpaired``), its front figures, and for a paired
        one ``paired`` (per w the paired per-seed differences with intervals)."""
        from paretoul.pareto.compare import compare_study

        return compare_study(self.data(), on)

    def choose(self, rule: str = "knee", on: str | None = None, *,
               weights: Sequence[float] | None = None, p: float | None = None,
               max_retain_drop: float | None = None, min_test_acc: float | None = None) -> Choice:
        """One operating point among the candidates (never a reference such as the noise-floor
        retrain) by ``rule``: ``knee``, ``weights`` (``weights``: each objective's importance),
        ``compromise`` (``p``: the norm, default 2), ``constrained`` (``max_retain_drop``: RA and
        TA at most that many points below the original's; ``min_test_acc``), ``closest-to-retrain``
        or ``oracle-free``; always selected on the search seeds. ``choice.measured`` holds its
        figures on ``on``'s seeds (default: the validation seeds when the study has them)."""
        from dataclasses import replace

        from paretoul.pareto.choose import check_rule, choose, measured

        options = _rule_options(weights, p, max_retain_drop, min_test_acc)
        check_rule(rule, **options)
        data = self.data()
        c = choose(data, rule, **options)
        return replace(c, measured=measured(data, c.record, on))

    def export(self, choice: Choice, path: str | Path, *, seed: int | None = None,
               overwrite: bool = False, cache_dir: str | Path | None = None) -> dict[str, Any]:
        """Re-run the chosen trial on ``seed`` (default its first search seed), check it
        reproduces the recorded metrics, and write its weights and sidecar to ``path`` (load
        them with :func:`paretoul.load_model`); ``overwrite`` replaces an earlier export there."""
        from paretoul.pareto.export import export_trial

        return export_trial(self.data(), choice.record, path, seed=seed, cache_dir=cache_dir,
                            overwrite=overwrite)

    def report(self, out: str | Path | None = None, *, rule: str = "knee", on: str | None = None,
               weights: Sequence[float] | None = None, p: float | None = None,
               max_retain_drop: float | None = None, min_test_acc: float | None = None
               ) -> dict[str, Path]:
        """Write ``report.md``, ``report.html`` and every plot (default ``<study>/report``); the
        report highlights the point ``rule`` chooses (its options as :meth:`choose`'s)."""
        from paretoul.pareto.choose import check_rule
        from paretoul.report.build import write_report

        options = _rule_options(weights, p, max_retain_drop, min_test_acc)
        check_rule(rule, **options)
        return write_report(self.directory, out, rule=rule, storage_url=self.storage,
                            rule_options=options, on=on)

    def plot(self, out: str | Path | None = None) -> dict[str, Path]:
        """Every plot as PNG (+ SVG); returns each plot's PNG path."""
        from paretoul.pareto.choose import choose
        from paretoul.report.build import make_plots

        data = self.data()
        target = Path(out) if out else self.directory / "report"
        return make_plots(data, target, choose(data, "knee") if data.candidates() else None)

    def validate(self, seeds: Sequence[int] | None = None, *, rule: str = "knee",
                 weights: Sequence[float] | None = None, p: float | None = None,
                 max_retain_drop: float | None = None, min_test_acc: float | None = None,
                 local: bool = False, address: str | None = None,
                 cache_dir: str | Path | None = None, quiet: bool = False) -> dict[str, Any]:
        """Re-evaluate the delivered trials (fronts, method table rows, and the point ``rule``
        chooses) on held-out ``seeds`` the search never saw (``paretoul validate``); on Ray
        (a local one, or ``address``) unless ``local``."""
        from paretoul.pareto.validate import validate_study

        return validate_study(self.directory, list(seeds) if seeds is not None else None,
                              rule=rule, rule_options=_rule_options(weights, p, max_retain_drop,
                                                                    min_test_acc),
                              storage=self.storage, local=local, address=address,
                              cache_dir=cache_dir, quiet=quiet)

    def audit(self, trial: str | None = None, models: int = 8, *, floor: bool = False,
              local: bool = False, address: str | None = None, cpus: float | None = None,
              gpus: float = 0.0, cache_dir: str | Path | None = None,
              quiet: bool = False) -> dict[str, Any]:
        """The unlearning-challenge audit of a trial (``ARM#K``; default: the knee choice) with
        ``models`` unlearned and retrained models, beside its noise floor (``floor``: measure it
        when none is cached); ``paretoul audit DIR``."""
        from paretoul.audit.study import audit_trial

        options: dict[str, Any] = {"floor": floor, "local": local, "address": address,
                                   "gpus": gpus, "cache_dir": cache_dir, "quiet": quiet}
        if cpus is not None:
            options["cpus"] = cpus
        return audit_trial(self.directory, trial, models, storage=self.storage, **options)


def _rule_options(weights: Sequence[float] | None, p: float | None, max_retain_drop: float | None,
                  min_test_acc: float | None) -> dict[str, Any]:
    return {"weights": list(weights) if weights is not None else None, "p": p,
            "max_retain_drop": max_retain_drop, "min_test_acc": min_test_acc}


def _options(out: str | Path | None, storage: str | None, address: str | None,
             max_concurrent: int | None, quiet: bool, cache_dir: str | Path | None) -> Any:
    from paretoul.study.runner import LaunchOptions

    if max_concurrent is not None and max_concurrent < 1:
        raise UserError("max_concurrent", f"{max_concurrent} must be >= 1")
    return LaunchOptions(out=out, address=address, storage=storage, max_concurrent=max_concurrent,
                         quiet=quiet, cache_dir=cache_dir)


def _with_report(summary: dict[str, Any], directory: Path, storage: str | None) -> Study:
    """The study, its report written after a run that completed it. A report that cannot be
    written raises :class:`ReportFailed` (the results are safe in the database). A study that
    was already complete keeps the report it has."""
    if summary.get("already_complete") or not summary.get("complete"):
        study = Study(directory, storage=storage)
        summary.update({k: study.summary[k] for k in ("report", "headline")})
        study._summary = summary
        return study
    study = Study(directory, storage=storage, summary=summary)
    try:
        from paretoul.report.build import write_report

        paths = write_report(directory, storage_url=storage)
    except Exception as e:
        summary["report"] = summary["headline"] = None
        raise ReportFailed(study, e) from e
    summary["report"] = str(paths["html"])
    summary["headline"] = json.loads((paths["html"].parent / "headline.json").read_text())
    return study


def _existing(spec: StudySpec, out: str | Path | None) -> Path | None:
    """The directory this spec launches into, when it already holds a study of the same spec;
    a directory holding another study is a :class:`UserError`."""
    from paretoul.study.runner import study_dir_of
    from paretoul.study.storage.layout import load_study_spec

    d = study_dir_of(spec, out)
    try:
        held = load_study_spec(d)
    except UserError:
        return None
    mine, theirs = spec.model_dump(mode="json"), held.model_dump(mode="json")
    mine["storage"] = theirs["storage"] = None  # a password is never saved with the study
    if mine != theirs:
        diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise UserError("out", f"{d} holds another study (its {', '.join(diff)} differ from this "
                        "spec's); give another out", cli=f"{d} holds another study (its "
                        f"{', '.join(diff)} differ from this spec's); give another --out")
    return d


def launch_study(spec: str | Path | dict[str, Any] | StudySpec, out: str | Path | None = None, *,
                 load_if_exists: bool = False, storage: str | None = None,
                 address: str | None = None, max_concurrent: int | None = None,
                 quiet: bool = False, cache_dir: str | Path | None = None) -> Study:
    """Run every arm of a study (on a local Ray, or the cluster at ``address``), write its report,
    and return the :class:`Study`. ``spec``: a YAML file, a mapping, or a ``StudySpec``; ``out``:
    the study directory (default ``runs/study-<name>``). Where ``out`` already holds this study,
    ``load_if_exists=True`` opens it — resuming it if it is unfinished, running nothing if it is
    complete — as Optuna's ``create_study(load_if_exists=True)`` does; without it that is a
    :class:`UserError`. Ctrl-C stops a run cleanly (:class:`~paretoul.errors.StudyInterrupted`);
    :func:`resume_study` continues it. A report that cannot be written raises
    :class:`ReportFailed`, whose ``study`` is the completed study."""
    from paretoul.study import runner
    from paretoul.study.spec import StudySpec, load_spec, parse_spec

    opts = _options(out, storage, address, max_concurrent, quiet, cache_dir)
    if isinstance(spec, StudySpec):
        parsed = spec
    elif isinstance(spec, dict):
        parsed = parse_spec(spec)
    else:
        parsed = load_spec(spec)
    storage = storage or parsed.storage  # the database the study's reads go to afterwards
    if load_if_exists and (existing := _existing(parsed, out)) is not None:
        return resume_study(existing, storage=storage, address=address,
                            max_concurrent=max_concurrent, quiet=quiet, cache_dir=cache_dir)
    summary = runner.launch_summary(None, opts, spec=parsed)
    return _with_report(summary, Path(summary["dir"]), storage)


def resume_study(path: str | Path, *, storage: str | None = None, address: str | None = None,
                 max_concurrent: int | None = None, quiet: bool = False,
                 cache_dir: str | Path | None = None) -> Study:
    """Continue an interrupted study (finished trials are never rerun) and return it; a complete
    study returns at once, ``summary["already_complete"]`` true."""
    from paretoul.study import runner

    opts = _options(None, storage, address, max_concurrent, quiet, cache_dir)
    summary = runner.resume_summary(path, opts)
    return _with_report(summary, Path(path), storage)


def open_study(path: str | Path, *, storage: str | None = None) -> Study:
    """An existing study directory, to read (nothing runs); ``storage``: its database URL when it
    is not the one the directory records. A directory without a study is a one-line
    :class:`~paretoul.errors.UserError`."""
    return Study(path, storage=storage)
