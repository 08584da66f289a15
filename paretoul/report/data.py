"""Data for every plot and table, built from a study (tested); drawing is in ``plots.py``."""

from __future__ import annotations

from typing import Any

import numpy as np

from paretoul.geometry.fronts import as_minimisation, non_dominated
from paretoul.pareto.choose import Choice
from paretoul.pareto.summary import hv_history, method_representatives, study_normalisation
from paretoul.study.storage.records import StudyData, TrialRecord

TABLE_METRICS = ("ua", "ra", "ta", "mia", "avg_gap", "rte")
CLASS_WISE_METRICS = ("ta_forgotten",)
NOISE_FLOOR = "retrain"
"""The method whose row is the retrain-to-retrain noise floor (an independent retrain)."""


def table_metrics(data: StudyData) -> tuple[str, ...]:
    """The method table's columns: the literature's, plus ``ta_forgotten`` under class-wise
    forgetting (where every record has it)."""
    extra = tuple(m for m in CLASS_WISE_METRICS
                  if any(m in (r.metrics or {}) for r in data.finished()))
    return TABLE_METRICS[:3] + extra + TABLE_METRICS[3:]


def _front_steps(points: np.ndarray, directions: list[str]) -> list[list[float]]:
    if len(points) == 0:
        return []
    idx = non_dominated(points, directions)
    front = points[idx]
    G = as_minimisation(front, directions)
    order = np.argsort(G[:, 0], kind="stable")
    return front[order].tolist()


def scatter_data(data: StudyData, chosen: Choice | None = None) -> dict[str, Any]:
    """Every arm's finished trials (with seed spread), each arm's front, original, oracle, choice."""
    arms: dict[str, Any] = {}
    for r in data.finished():
        a = arms.setdefault(r.arm, {"method": r.method, "points": [], "std": [], "trials": []})
        a["points"].append(list(r.objectives))
        a["std"].append([r.metrics_std.get(o, 0.0) for o in data.objectives])
        a["trials"].append(r.number)
    for a in arms.values():
        a["front"] = _front_steps(np.array(a["points"]), data.directions)
    refs = {k: v.tolist() for k, v in data.baseline_points().items()}
    all_pts = data.matrix()
    return {
        "objectives": data.objectives, "directions": data.directions, "arms": arms,
        "overall_front": _front_steps(all_pts, data.directions), "baselines": refs,
        "chosen": list(chosen.record.objectives) if chosen else None,
        "chosen_label": f"{chosen.rule}: {chosen.record.key}" if chosen else None,
    }


def hv_history_data(data: StudyData) -> dict[str, list[list[float]]]:
    """Per search run (an arm, or one replicate of it), labelled with its method and searcher:
    HV of its front after its n-th finished trial. Each curve is one searcher on one problem
    (one method's space), so curves of the same method compare searchers."""
    norm = study_normalisation(data)
    groups: dict[str, list[TrialRecord]] = {}
    for r in data.records:
        groups.setdefault(f"{r.unit} ({r.method}, {r.searcher})", []).append(r)
    return {k: [[n, hv] for n, hv in hv_history(rs, norm)] for k, rs in groups.items()}


def _shown_comparison(comparisons: dict[str, Any]) -> dict[str, Any] | None:
    """The comparison the report's JD-vs-fixed figures show: the first paired by w, else the first."""
    cs = [c for c in comparisons["comparisons"] if "full_budget" in c]
    return next((c for c in cs if c.get("paired")), cs[0] if cs else None)


def jd_vs_fixed_data(data: StudyData, comparisons: dict[str, Any]) -> dict[str, Any] | None:
    """The shown comparison's two sides: each trial (labelled by w), each side's front, and the
    untouched original's point."""
    first = _shown_comparison(comparisons)
    if first is None:
        return None
    fixed = [r for r in data.finished() if r.arm in first["sides"]["fixed"]]
    jd = [r for r in data.finished() if r.arm in first["sides"]["jd"]]
    if not fixed or not jd:
        return None
    return {
        "objectives": data.objectives, "name": first["name"], "design": first["design"],
        "fixed": [{"w": r.params.get("w"), "point": list(r.objectives), "arm": r.arm} for r in fixed],
        "jd": [{"w": r.params.get("w"), "point": list(r.objectives), "arm": r.arm,
                "reference": r.params.get("reference")} for r in jd],
        "jd_front": _front_steps(np.array([r.objectives for r in jd]), data.directions),
        "fixed_front": _front_steps(np.array([r.objectives for r in fixed]), data.directions),
        "original": first.get("original_point"),
    }


def paired_w_data(comparisons: dict[str, Any]) -> dict[str, Any] | None:
    """For the first comparison paired by w: per figure, each side's per-seed values and mean at
    every w, and each side's gradient cosine at every w; one series per value of the other
    gridded parameters (e.g. one per lr)."""
    c = next((c for c in comparisons["comparisons"] if c.get("paired", {}).get("points")), None)
    if c is None:
        return None
    pts = [pt for pt in c["paired"]["points"] if "w" in pt["point"]]
    if not pts:
        return None
    series: dict[str, list[dict[str, Any]]] = {}
    for pt in pts:
        rest = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in pt["point"].items() if k != "w")
        series.setdefault(rest, []).append(pt)
    out_series = []
    for label, group in series.items():
        figures = {m: {side: {"per_seed": [pt["figures"][m][side] for pt in group],
                              "mean": [pt["figures"][m][f"{side}_mean"] for pt in group]}
                       for side in ("jd", "fixed")} for m in group[0]["figures"]}
        cos = {side: [pt["conflict"][side].get("grad_cos") for pt in group] for side in ("jd", "fixed")}
        out_series.append({"label": label, "w": [pt["point"]["w"] for pt in group],
                           "figures": figures, "grad_cos": cos})
    measured = any(v is not None for s in out_series for side in ("jd", "fixed")
                   for v in s["grad_cos"][side])
    return {"name": c["name"], "series": out_series, "figures": list(pts[0]["figures"]),
            "grad_cos": measured, "seeds": c["paired"]["seeds"]}


def conflict_data(data: StudyData) -> dict[str, Any] | None:
    """Per arm whose trials measured it: each trial's mean gradient cosine and conflict share."""
    arms: dict[str, Any] = {}
    for r in data.finished():
        if "grad_cos" in r.conflict:
            a = arms.setdefault(r.arm, {"method": r.method, "grad_cos": [], "grad_conflict": []})
            a["grad_cos"].append(r.conflict["grad_cos"])
            a["grad_conflict"].append(r.conflict.get("grad_conflict"))
    return {"arms": arms} if arms else None


def jd_weights_data(data: StudyData) -> dict[str, Any] | None:
    """The aggregator's weights over steps for the RAUL trial with the smallest Avg. Gap."""
    raul = [r for r in data.finished() if r.method == "raul" and r.trace.get("jd_weight_forget")]
    if not raul:
        return None
    r = min(raul, key=lambda t: t.metrics.get("avg_gap", np.inf))
    return {"trial": r.key, "params": r.params, "forget": r.trace["jd_weight_forget"],
            "retain": r.trace["jd_weight_retain"]}


def method_table(data: StudyData, on: str = "search") -> list[dict[str, Any]]:
    """Per method, its trial closest to the oracle (smallest Avg. Gap, selected on the search
    seeds), measured on ``on``'s seeds: mean and sample std (ddof=1) over them; a ``retrain``
    arm's row is the noise floor (``noise_floor`` true). A trial without validation figures
    has ``missing`` (why) and no values. ``grad_cos`` and ``grad_conflict``: the trial's gradient
    conflict over the search seeds, where its method measured it.

    Chosen against the oracle's Avg. Gap, as the unlearning literature tunes its tables.
    """
    rows = []
    cols = table_metrics(data)
    baselines = data.baselines_on(on)
    for who in ("original", "oracle"):
        vals = [baselines[s][who] for s in baselines]
        if vals:  # RTE is an unlearning time: the original and the oracle were trained instead
            have = [m for m in cols if m != "rte" and all(m in v for v in vals)]
            rows.append({"method": who, "trial": "-", "n_seeds": len(vals),
                         **{m: float(np.mean([v[m] for v in vals])) for m in have},
                         **({f"{m}_std": float(np.std([v[m] for v in vals], ddof=1))
                             for m in have} if len(vals) > 1 else {})})
    picks = method_representatives(data)
    for method, pick in sorted(picks.items(), key=lambda kv: (kv[0] != NOISE_FLOOR, kv[0])):
        best = pick if on == "search" else data.validated(pick)
        row: dict[str, Any] = {"method": method, "trial": pick.key, "noise_floor": method == NOISE_FLOOR,
                               **{k: v for k, v in pick.conflict.items()}}
        if best is None:
            row.update(n_seeds=0, missing=data.missing_validation(pick))
        else:
            row.update(n_seeds=len(best.seeds), **{m: best.metrics.get(m, float("nan")) for m in cols},
                       **{f"{m}_std": best.metrics_std[m] for m in cols if m in best.metrics_std})
        rows.append(row)
    return rows


GAP_BARS = (("ua", "UA gap"), ("ra", "RA gap"), ("ta", "TA gap"), ("mia", "MIA gap"),
            ("avg_gap", "Avg. Gap"))


def method_gap_bars(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The method table as distances to the oracle (what Avg. Gap averages), per method: |UA -
    UA_oracle|, |RA - ...|, |TA - ...|, |MIA - ...| and Avg. Gap, each with the method's seed
    spread of that metric; the oracle itself (all 0) is left out, the original kept (what
    doing nothing costs). Raw accuracies near 100 would hide the differences that matter."""
    oracle = next((r for r in rows if r["method"] == "oracle"), None)
    if oracle is None:
        return {"labels": [], "methods": []}
    methods = []
    for row in rows:
        if row["method"] == "oracle" or not row.get("n_seeds"):
            continue
        gaps = [row.get(m, float("nan")) if m == "avg_gap" else abs(row.get(m, float("nan")) -
                                                                    oracle.get(m, float("nan")))
                for m, _ in GAP_BARS]
        methods.append({"method": row["method"], "gaps": gaps,
                        "std": [row.get(f"{m}_std", 0.0) for m, _ in GAP_BARS]})
    return {"labels": [label for _, label in GAP_BARS], "methods": methods}


def halving_table(data: StudyData) -> list[dict[str, Any]]:
    """Per arm with ``fidelity``: its configurations, how many stopped after each lower rung
    (``stopped``: seeds run -> configurations), how many were measured on every seed (``full``)
    and how many failed: only the full ones enter fronts, tables, comparisons and choices."""
    if data.spec is None:
        return []
    rows = []
    for arm in data.spec.arms:
        if arm.fidelity is None:
            continue
        mine = [r for r in data.records if r.arm == arm.name]
        lower = [r for r in data.partial if r.arm == arm.name and r.state == "complete"]
        stopped = {n: sum(r.rung == k for r in lower) for k, n in enumerate(arm.fidelity.seeds[:-1])}
        rows.append({"arm": arm.name, "seeds": list(arm.fidelity.seeds), "eta": arm.fidelity.eta,
                     "stop": arm.fidelity.stop, "promote": arm.fidelity.promote, "stopped": stopped,
                     "full": sum(r.state == "complete" for r in mine),
                     "failed": sum(r.state == "failed" for r in mine),
                     "configurations": len(mine) + sum(r.arm == arm.name for r in data.partial)})
    return rows
