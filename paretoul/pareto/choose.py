"""Choosing an operating point on a study's front, by a stated rule.

Rules work on the overall front of finished trials, objectives normalised to [0, 1]
(0 = best value seen). ``oracle-free`` applies the compromise rule to the oracle-free
proxies (``ref_gap`` to minimise, ``ta`` to maximise) for deployments with no oracle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paretoul.errors import UserError, choice_error
from paretoul.geometry.fronts import as_minimisation, non_dominated, normalise, normaliser
from paretoul.pareto.sentences import seeds_text
from paretoul.study.storage.records import StudyData, TrialRecord

RULES = ("knee", "weights", "compromise", "constrained", "closest-to-retrain", "oracle-free")
ORACLE_FREE = (("ref_gap", "min"), ("ta", "max"))
OPTIONS = {"weights": "--weights", "p": "--p", "max_retain_drop": "--max-retain-drop",
           "min_test_acc": "--min-test-acc"}
USES: dict[str, tuple[str, ...]] = {"weights": ("weights",), "compromise": ("p",),
                                    "constrained": ("max_retain_drop", "min_test_acc")}
"""The options each rule takes (the others take none)."""


def check_rule(rule: str, **options: Any) -> None:
    """Refuse an unknown rule, an option the rule does not use, or a missing one it needs —
    before any study is read. ``options``: the :data:`OPTIONS` given (None = not given)."""
    if rule not in RULES:
        raise choice_error("rule", rule, RULES)
    given = [k for k, v in options.items() if v is not None]
    unused = [k for k in given if k not in USES.get(rule, ())]
    if unused:
        takes = USES.get(rule, ())
        raise UserError(
            "rule", f"{' and '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used by rule "
            f"{rule!r} (it takes {', '.join(takes) or 'no options'})",
            cli=f"{' and '.join(OPTIONS[k] for k in unused)} is not used by --rule {rule} (it takes "
            f"{', '.join(OPTIONS[k] for k in takes) or 'no options'})")
    if rule == "weights" and options.get("weights") is None:
        raise UserError("weights", "rule 'weights' needs weights=(a, b), the importance of each "
                        "objective", cli="--rule weights needs --weights a,b (importance of each "
                        "objective)")
    bounds = (options.get("max_retain_drop"), options.get("min_test_acc"))
    if rule == "constrained" and bounds == (None, None):
        raise UserError("rule", "rule 'constrained' needs max_retain_drop=X or min_test_acc=X",
                        cli="--rule constrained needs --max-retain-drop X or --min-test-acc X")


@dataclass
class Choice:
    """An operating point: the trial a rule picked on the search seeds, and why."""

    rule: str
    record: TrialRecord
    reason: str
    front_size: int
    details: dict[str, Any] = field(default_factory=dict)
    measured: dict[str, Any] | None = None
    """Its figures on the seeds they are measured on (:func:`measured`): ``on``, ``seeds``,
    ``metrics``, ``metrics_std``, ``note``; None: on the search seeds it was selected on."""

    def to_dict(self) -> dict[str, Any]:
        """The choice as JSON: ``search`` holds its figures on the search seeds it was selected
        on; the top-level ``on``/``seeds``/``metrics``/``metrics_std``/``note`` are the figures
        as measured (the validation seeds' when :attr:`measured` says so)."""
        r = self.record
        search = {"seeds": r.seeds, "metrics": r.metrics, "metrics_std": r.metrics_std}
        shown = self.measured or {"on": "search", **search,
                                  "note": "selected on the search seeds, measured on them too"}
        return {"rule": self.rule, "reason": self.reason, "key": r.key, "arm": r.arm,
                "replicate": r.replicate, "method": r.method, "trial": r.number, "params": r.params,
                "front_size": self.front_size, **self.details, "search": search, **shown}


def measured(data: StudyData, record: TrialRecord, on: str | None = None) -> dict[str, Any]:
    """A chosen trial's figures on ``on``'s seeds (default: validation when the study has it and
    the trial was validated, else search): ``on``, ``seeds``, ``metrics``, ``metrics_std`` and
    ``note`` (which seeds it was selected on and measured on, or why validation is missing)."""
    explicit = on is not None
    on = data.resolve_on(on)
    note = f"selected on the search seeds {seeds_text(data.search_seeds)}"
    view = record
    if on == "validation":
        view = data.validated(record)  # type: ignore[assignment]
        if view is None:
            why = data.missing_validation(record)
            if explicit:
                raise UserError("on", f"{why}; run `paretoul validate {data.directory}` (it "
                                "validates the chosen point of the rule given to it)")
            view, on = record, "search"
            note += f"; measured on them too ({why})"
        else:
            note += f", measured on the held-out validation seeds {seeds_text(data.validation_seeds)}"
    else:
        note += ", measured on them too"
    return {"on": on, "seeds": view.seeds, "metrics": view.metrics, "metrics_std": view.metrics_std,
            "note": note}


def _front(records: list[TrialRecord], F: np.ndarray, directions: list[str]
           ) -> tuple[list[TrialRecord], np.ndarray]:
    G = as_minimisation(F, directions)
    idx = non_dominated(G)
    low, high = normaliser(G[idx])
    return [records[i] for i in idx], normalise(G[idx], low, high)


def knee(N: np.ndarray) -> tuple[int, str]:
    """pymoo's HighTradeoffPoints; when it finds none, the point closest to the ideal (p=2)."""
    if len(N) >= 3:
        from pymoo.mcdm.high_tradeoff import HighTradeoffPoints

        try:
            idx = HighTradeoffPoints().do(N)
        except Exception:  # pymoo raises on degenerate fronts
            idx = None
        if idx is not None and len(idx):
            best = int(min(idx, key=lambda i: float(np.linalg.norm(N[i]))))
            return best, "highest trade-off point (pymoo HighTradeoffPoints)"
    i = int(np.argmin(np.linalg.norm(N, axis=1)))
    why = "too few points for a trade-off analysis" if len(N) < 3 else "pymoo found no high trade-off point"
    return i, f"{why}; fell back to the point closest to the ideal (Euclidean, normalised)"


def compromise(N: np.ndarray, p: float) -> int:
    """Closest to the ideal point (0, ..., 0) in the p-norm (p = inf allowed)."""
    return int(np.argmin(np.linalg.norm(N, ord=p, axis=1)))


def asf(N: np.ndarray, weights: np.ndarray) -> int:
    """Achievement scalarising function with preference weights (larger = more important)."""
    from pymoo.decomposition.asf import ASF

    w = np.asarray(weights, dtype=float)
    return int(np.argmin(ASF().do(N, 1.0 / np.maximum(w, 1e-12))))


def choose(data: StudyData, rule: str, weights: list[float] | None = None, p: float | None = None,
           max_retain_drop: float | None = None, min_test_acc: float | None = None) -> Choice:
    """Pick one finished trial by ``rule``; bad arguments are one-line UserErrors (see
    :func:`check_rule`). ``p`` defaults to 2 for the compromise rule. The choice says when the
    untouched original (doing nothing) dominates it (``details["dominated_by_original"]``)."""
    c = _choose(data, rule, weights, p, max_retain_drop, min_test_acc)
    original = data.baseline_points().get("original")
    if original is not None and c.record.objectives is not None:
        G = as_minimisation(np.array([original, c.record.objectives], dtype=float), data.directions)
        worse = bool(np.all(G[0] <= G[1]) and np.any(G[0] < G[1]))
        c.details["dominated_by_original"] = worse
        if worse:
            c.reason += ("; the untouched original dominates it ("
                         + ", ".join(f"{o} {v:.2f}" for o, v in zip(data.objectives, original,
                                                                      strict=True))
                         + "): on these objectives doing nothing is better")
    return c


def _choose(data: StudyData, rule: str, weights: list[float] | None, p: float | None,
            max_retain_drop: float | None, min_test_acc: float | None) -> Choice:
    check_rule(rule, weights=weights, p=p, max_retain_drop=max_retain_drop, min_test_acc=min_test_acc)
    done = data.candidates()
    if not done:
        why = " (only references, such as the independent retrain, finished)" if data.finished() else ""
        raise UserError("study", f"{data.directory} has no finished trial to choose from{why}")
    if rule == "closest-to-retrain":
        gaps = [r.metrics.get("avg_gap", np.inf) for r in done]
        i = int(np.argmin(gaps))
        reason = (f"smallest Avg. Gap to the oracle ({gaps[i]:.2f}) of {len(done)} finished "
                  "candidate trials")
        closer = [r for r in data.finished() if r not in done
                  and r.metrics.get("avg_gap", np.inf) < gaps[i]]
        if closer:
            ref = min(closer, key=lambda r: r.metrics.get("avg_gap", np.inf))
            reason += (f"; the reference {ref.key} ({ref.method}, the noise floor) is closer "
                       f"({ref.metrics['avg_gap']:.2f}), but a reference is not a candidate")
        return Choice(rule, done[i], reason, len(done))
    if rule == "oracle-free":
        missing = sorted({m for r in done for m, _ in ORACLE_FREE if m not in r.metrics})
        if missing:
            raise UserError("rule", f"oracle-free needs the oracle-free metrics ({', '.join(missing)} "
                            "missing): the study holds out no reference set (reference_fraction 0)")
        F = np.array([[r.metrics[m] for m, _ in ORACLE_FREE] for r in done], dtype=float)
        recs, N = _front(done, F, [d for _, d in ORACLE_FREE])
        i = compromise(N, 2.0)
        oracle = _choose(data, "closest-to-retrain", None, None, None, None)
        gap_here, gap_best = recs[i].metrics.get("avg_gap"), oracle.record.metrics.get("avg_gap")
        reason = ("closest to the ideal of the oracle-free front (ref_gap min, TA max; Euclidean, "
                  "normalised)")
        details = {"oracle_based_choice": oracle.record.key, "avg_gap_of_choice": gap_here,
                   "avg_gap_of_oracle_based_choice": gap_best}
        if gap_here is not None and gap_best is not None:
            reason += (f"; its Avg. Gap to the oracle is {gap_here:.2f} vs {gap_best:.2f} for the "
                       "oracle-based choice")
        return Choice(rule, recs[i], reason, len(recs), details)
    if rule == "constrained":
        original = [data.baselines[s]["original"] for s in data.baselines]
        if max_retain_drop is not None and not original:
            raise UserError("max_retain_drop", "the study records no original-model metrics to "
                            "measure the drop from; use min_test_acc",
                            cli="the study records no original-model metrics to measure the drop "
                            "from; use --min-test-acc")
        ra0 = float(np.mean([o["ra"] for o in original])) if original else float("nan")
        ta0 = float(np.mean([o["ta"] for o in original])) if original else float("nan")
        ok = []
        for r in done:
            keep = True
            if max_retain_drop is not None:
                keep &= max(ra0 - r.metrics["ra"], ta0 - r.metrics["ta"]) <= max_retain_drop
            if min_test_acc is not None:
                keep &= r.metrics["ta"] >= min_test_acc
            if keep:
                ok.append(r)
        parts = []
        if max_retain_drop is not None:
            parts.append(f"RA and TA within {max_retain_drop:g} points of the original's")
        if min_test_acc is not None:
            parts.append(f"TA >= {min_test_acc:g}")
        bound = " and ".join(parts)
        if not ok:
            raise UserError("rule", f"no finished trial keeps {bound}")
        sign = 1.0 if data.directions[0] == "min" else -1.0
        i = int(np.argmin([sign * r.objectives[0] for r in ok]))
        return Choice(rule, ok[i], f"best {data.objectives[0]} ({ok[i].objectives[0]:.2f}) among "
                      f"{len(ok)} of {len(done)} candidate trials with {bound}", len(ok))
    recs, N = _front(done, data.matrix(done), data.directions)
    if rule == "knee":
        i, why = knee(N)
        return Choice(rule, recs[i], why, len(recs))
    if rule == "compromise":
        p = 2.0 if p is None else p
        if not (p >= 1):
            raise UserError("p", f"{p} must be >= 1 (inf allowed)")
        return Choice(rule, recs[compromise(N, p)], f"closest to the ideal point in the {p:g}-norm "
                      "(objectives normalised over the front)", len(recs))
    # weights
    if weights is None or len(weights) != len(data.objectives) or min(weights) < 0 or sum(weights) <= 0:
        raise UserError("weights", f"give {len(data.objectives)} non-negative numbers, e.g. "
                        f"weights=({', '.join(['1'] * len(data.objectives))})",
                        cli=f"give {len(data.objectives)} non-negative numbers, e.g. "
                        f"--weights {','.join(['1'] * len(data.objectives))}")
    return Choice(rule, recs[asf(N, np.array(weights))], "best achievement scalarising function "
                  f"value for weights {','.join(f'{w:g}' for w in weights)}", len(recs))
