"""Jacobian descent (``raul`` arms) against fixed weightings (``scalarized`` arms).

Reported: the hypervolume of each front; the share of fixed-weight trials dominated by
some Jacobian-descent trial and the reverse; the additive epsilon indicator both ways;
with several seeds, bootstrap intervals (resampling seeds) of the HV difference; and one
plain sentence that never claims a winner when the interval contains zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paretoul.pareto.indicators import (
    additive_epsilon,
    bootstrap_ci,
    dominated_share,
    front_points,
    hypervolume,
)
from paretoul.pareto.records import StudyData, TrialRecord
from paretoul.pareto.summary import Normalisation, study_normalisation

JD_METHODS = ("raul",)
FIXED_METHODS = ("scalarized",)


def _matrix(records: list[TrialRecord], objectives: list[str], seeds_idx: np.ndarray | None = None
            ) -> np.ndarray:
    rows = []
    for r in records:
        if seeds_idx is None or not r.metrics_per_seed:
            rows.append(list(r.objectives))
        else:
            per = [r.metrics_per_seed[i] for i in seeds_idx if i < len(r.metrics_per_seed)]
            rows.append([float(np.mean([p[o] for p in per])) for o in objectives])
    return np.array(rows, dtype=float).reshape(len(records), len(objectives))


def compare_jd_fixed(data: StudyData, norm: Normalisation | None = None, n_boot: int = 400
                     ) -> dict[str, Any] | None:
    """The JD-vs-fixed-weights comparison, or None when the study lacks either side."""
    norm = norm or study_normalisation(data)
    jd = [r for r in data.finished() if r.method in JD_METHODS]
    fixed = [r for r in data.finished() if r.method in FIXED_METHODS]
    if not jd or not fixed:
        return None
    A, B = norm(_matrix(jd, data.objectives)), norm(_matrix(fixed, data.objectives))
    hv_a, hv_b = hypervolume(A, norm.reference), hypervolume(B, norm.reference)
    b_dominated, n_b = dominated_share(A, B)
    a_dominated, n_a = dominated_share(B, A)
    fa, fb = front_points(A), front_points(B)
    out: dict[str, Any] = {
        "jd_trials": n_a, "fixed_trials": n_b,
        "hv_jd": hv_a, "hv_fixed": hv_b, "hv_difference": hv_a - hv_b,
        "fixed_dominated_by_jd": [b_dominated, n_b], "jd_dominated_by_fixed": [a_dominated, n_a],
        "epsilon_jd_to_fixed": additive_epsilon(fa, fb),
        "epsilon_fixed_to_jd": additive_epsilon(fb, fa),
        "ci": None,
    }
    n_seeds = min((len(r.metrics_per_seed) for r in jd + fixed), default=0)
    if n_seeds >= 2:
        def diff(rng: np.random.Generator) -> float:
            idx = rng.integers(0, n_seeds, n_seeds)
            return (hypervolume(norm(_matrix(jd, data.objectives, idx)), norm.reference)
                    - hypervolume(norm(_matrix(fixed, data.objectives, idx)), norm.reference))

        out["ci"] = {"hv_difference_95": list(bootstrap_ci(diff, n=n_boot)), "seeds": n_seeds,
                     "resamples": n_boot}
    out["verdict"] = verdict(out)
    return out


def verdict(c: dict[str, Any]) -> str:
    """One plain sentence; a winner is named only when the HV-difference interval excludes 0."""
    bd, nb = c["fixed_dominated_by_jd"]
    ad, na = c["jd_dominated_by_fixed"]
    text = (f"Jacobian descent's trials dominate {bd} of {nb} fixed-weight trials, which dominate "
            f"{ad} of {na} Jacobian-descent trials; HV {c['hv_jd']:.3f} (JD) vs {c['hv_fixed']:.3f} "
            f"(fixed)")
    ci = c.get("ci")
    if ci:
        lo, hi = ci["hv_difference_95"]
        text += (f", difference {c['hv_difference']:+.3f} [95% CI {lo:+.3f}, {hi:+.3f}] over "
                 f"{ci['seeds']} seeds")
        if lo > 0:
            text += ": Jacobian descent's front is better."
        elif hi < 0:
            text += ": the fixed-weight front is better."
        else:
            text += ": the interval contains 0, so neither front is shown to be better."
    else:
        text += " (one seed: no interval, so no winner is claimed)."
    return text
