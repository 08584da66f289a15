"""A trial's figures over its seeds: means, sample spreads and gradient conflict, built from the
per-seed rows, and a configuration's figures when a run on more seeds extends it."""

from __future__ import annotations

from typing import Any

import numpy as np

CONFLICT = ("grad_cos", "grad_conflict")
"""The gradient-conflict series a method's trace may hold (:func:`paretoul.jd.conflict_log`)."""


def seed_std(names: list[str], table: np.ndarray) -> dict[str, float]:
    """Sample standard deviation (ddof=1) over seeds (rows) of each metric; absent with one seed
    (a spread over one seed is not defined)."""
    if len(table) < 2:
        return {}
    return dict(zip(names, table.std(0, ddof=1).tolist(), strict=True))


def over_seeds(per_seed: list[dict[str, float]]) -> dict[str, Any]:
    """Every metric's mean at the top level (where the objectives are read) and under
    ``metrics``, its spread under ``metrics_std``, and the rows under ``metrics_per_seed``."""
    names = list(per_seed[0])
    table = np.array([[row[n] for n in names] for row in per_seed], dtype=float)
    mean = dict(zip(names, table.mean(0).tolist(), strict=True))
    return {**mean, "metrics": mean, "metrics_std": seed_std(names, table),
            "metrics_per_seed": list(per_seed)}


def conflict_rows(traces: list[dict[str, list[float]]]) -> list[dict[str, float]]:
    """Per seed, the mean over its epochs of each conflict series its trace has."""
    return [{k: float(np.mean(t[k])) for k in CONFLICT if t.get(k)} for t in traces]


def conflict_figures(rows: list[dict[str, float]]) -> dict[str, Any]:
    """``{"conflict": {grad_cos, grad_conflict, seeds}, "conflict_per_seed": rows}``: the mean
    over the seeds whose row has the series; empty when no seed has them (a method that does not
    measure conflict, or a probe left off)."""
    have = [row for row in rows if len(row) == len(CONFLICT)]
    if not have:
        return {}
    return {"conflict": {**{k: float(np.mean([row[k] for row in have])) for k in CONFLICT},
                         "seeds": len(have)}, "conflict_per_seed": list(rows)}


def combined(lower: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """A configuration's result on the seeds of ``lower`` (its record at the rung below) and of
    ``more`` (a run on further seeds), as one run on all of them would have reported it: the
    figures are recomputed from the per-seed rows in seed order (the means equal a lone run's
    exactly), the unlearning time is the sum, and the trace stays the first seed's."""
    out = dict(more)
    out["seeds"] = [*lower.get("seeds", []), *more.get("seeds", [])]
    out.update(over_seeds([*lower.get("metrics_per_seed", []), *more.get("metrics_per_seed", [])]))
    out.pop("conflict", None)
    out.pop("conflict_per_seed", None)
    out.update(conflict_figures([*lower.get("conflict_per_seed", [{}] * len(lower.get("seeds", []))),
                                 *more.get("conflict_per_seed", [{}] * len(more.get("seeds", [])))]))
    out["unlearn_s"] = float(lower.get("unlearn_s", 0.0)) + float(more.get("unlearn_s", 0.0))
    if "trace" in lower:
        out["trace"] = lower["trace"]
    return out
