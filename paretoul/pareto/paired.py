"""Jacobian descent against fixed weights paired by preference: per ``w``, per seed.

A comparison paired by ``w`` (:mod:`paretoul.study.spec.comparisons`) has, at every ``w`` of the
shared grid, one JD trial and one fixed-weight trial with the same objectives, batches, optimiser
and seeds: the two differ only in the projection of the gradients. So each ``w`` gives, per seed,
a paired difference (JD minus fixed) of every objective and of Avg. Gap; its mean, a bootstrap
95% interval over seeds, and a winner only with at least :data:`MIN_SEEDS` seeds and an interval
that excludes 0 (the rule of the unpaired comparison). Across ``w``: how many values each side
wins, and the gradient conflict each side saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paretoul.study.storage.records import StudyData, TrialRecord

MIN_SEEDS = 5
N_BOOT = 2000
EXTRA = (("avg_gap", "min"),)
"""Figures compared per w besides the objectives (when every trial records them)."""


def _key(r: TrialRecord, shared: list[str]) -> tuple[Any, ...]:
    return tuple(r.params.get(k) for k in shared)


def _label(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())


def _interval(diffs: np.ndarray, rng_seed: int) -> list[float] | None:
    if len(diffs) < 2:
        return None
    rng = np.random.default_rng(rng_seed)
    boot = diffs[rng.integers(0, len(diffs), (N_BOOT, len(diffs)))].mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return [float(lo), float(hi)]


def _winner(interval: list[float] | None, n: int, direction: str) -> str | None:
    if interval is None or n < MIN_SEEDS:
        return None
    lo, hi = interval
    if lo > 0:
        return "jd" if direction == "max" else "fixed"
    if hi < 0:
        return "jd" if direction == "min" else "fixed"
    return None


def _per_seed(r: TrialRecord) -> dict[int, dict[str, float]]:
    return dict(zip(r.seeds, r.metrics_per_seed, strict=False))


def paired_figures(data: StudyData, jd: list[TrialRecord], fixed: list[TrialRecord]) -> dict[str, Any]:
    """Per shared parameter point (``w``, and any other gridded value): each figure's per-seed
    paired differences JD - fixed, their mean and bootstrap interval, the winner by the rule
    above, and each side's gradient conflict; then the counts across points.

    ``jd`` and ``fixed`` are the two sides' finished trials, measured on the seeds the caller chose
    (their ``seeds`` and ``metrics_per_seed``)."""
    shared = sorted(set().union(*(r.params for r in fixed)) & set().union(*(r.params for r in jd))
                    - {"aggregator"}) if jd and fixed else []
    varied = [k for k in shared if len({_key(r, [k]) for r in jd + fixed}) > 1] or ["w"]
    by_key = {_key(r, shared): r for r in fixed}
    figures = [(m, d) for m, d in zip(data.objectives, data.directions, strict=True)]
    figures += [(m, d) for m, d in EXTRA if m not in data.objectives
                and all(m in r.metrics for r in jd + fixed)]
    points, unpaired = [], []
    def order(t: TrialRecord) -> tuple[tuple[int, Any], ...]:  # numbers by value, others by text
        return tuple((0, v) if isinstance(v, (int, float)) else (1, str(v)) for v in _key(t, varied))

    for r in sorted(jd, key=order):
        partner = by_key.get(_key(r, shared))
        if partner is None:
            unpaired.append(r.key)
            continue
        a, b = _per_seed(r), _per_seed(partner)
        seeds = [s for s in a if s in b]
        entry: dict[str, Any] = {"point": {k: r.params.get(k) for k in varied},
                                 "label": _label({k: r.params.get(k) for k in varied}),
                                 "jd_trial": r.key, "fixed_trial": partner.key, "seeds": seeds,
                                 "figures": {}, "conflict": {"jd": r.conflict, "fixed": partner.conflict}}
        for i, (m, direction) in enumerate(figures):
            ja = np.array([a[s][m] for s in seeds], dtype=float)
            fb = np.array([b[s][m] for s in seeds], dtype=float)
            diffs = ja - fb
            iv = _interval(diffs, rng_seed=i)
            entry["figures"][m] = {
                "direction": direction, "jd": ja.tolist(), "fixed": fb.tolist(),
                "jd_mean": float(ja.mean()), "fixed_mean": float(fb.mean()),
                "difference_per_seed": diffs.tolist(), "difference": float(diffs.mean()),
                "difference_95": iv, "winner": _winner(iv, len(seeds), direction)}
        points.append(entry)
    for k in [r.key for r in fixed if _key(r, shared) not in {_key(t, shared) for t in jd}]:
        unpaired.append(k)
    n_seeds = min((len(p["seeds"]) for p in points), default=0)
    return {"by": varied, "points": points, "unpaired_trials": unpaired, "seeds": n_seeds,
            "summary": {m: _count(points, m, n_seeds) for m, _ in figures},
            "rule": (f"per point, a winner needs at least {MIN_SEEDS} seeds and a 95% paired bootstrap "
                     f"interval ({N_BOOT} resamples over seeds) of JD - fixed that excludes 0")}


def _count(points: list[dict[str, Any]], m: str, n_seeds: int) -> dict[str, Any]:
    wins = [p["figures"][m]["winner"] for p in points]
    leans = [p["figures"][m]["difference"] for p in points]
    better = [(d < 0) if p["figures"][m]["direction"] == "min" else (d > 0)
              for d, p in zip(leans, points, strict=True)]
    out = {"points": len(points), "jd_better": wins.count("jd"), "fixed_better": wins.count("fixed"),
           "neither": wins.count(None), "jd_ahead_on_mean": int(sum(better)),
           "share_jd_better": (wins.count("jd") / len(points)) if points else None}
    if n_seeds < MIN_SEEDS:
        out["note"] = f"{n_seeds} seed(s): fewer than {MIN_SEEDS}, so no point has a winner"
    return out


def paired_sentence(p: dict[str, Any]) -> str:
    """The paired design's result in words (Avg. Gap when recorded, else the first objective)."""
    if not p["points"]:
        return "paired by w: no point has a trial on both sides yet"
    m = "avg_gap" if "avg_gap" in p["summary"] else next(iter(p["summary"]))
    s = p["summary"][m]
    head = (f"paired by {', '.join(p['by'])} at {s['points']} values, {p['seeds']} seeds each: on "
            f"{m}, JD ahead on the seed mean at {s['jd_ahead_on_mean']} of {s['points']}")
    if "note" in s:
        return head + f" ({s['note']})"
    return (head + f"; JD better (interval excluding 0) at {s['jd_better']}, fixed better at "
            f"{s['fixed_better']}, neither shown better at {s['neither']}")
