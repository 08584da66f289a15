"""Jacobian descent against fixed weights, as matched comparisons (``paretoul compare``).

Each comparison (declared in the spec's ``comparisons``, or paired automatically where arms
match: :mod:`paretoul.study.comparisons`) is measured on its own two sides only:

- **normalisation** over the two sides' per-seed objective values (or the spec's
  ``hv_reference``), starting at the ideal 0 of a gap objective, so an arm outside the
  comparison cannot move any of its figures; the reference point is stated in objective units;
- **hypervolume** of each side's front of seed-mean points, and **per seed** (each trial
  records its metrics per seed, so each side has one front per seed); the difference is the
  mean of the paired per-seed differences, with a paired bootstrap 95% interval over seeds;
- **equal budgets**: when the sides finished different numbers of trials, every figure is also
  given for the first n trials of each (completion order), and the verdict uses those;
- a **winner** is named only with at least :data:`MIN_SEEDS` seeds and an interval excluding 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from paretoul.metrics import METRICS
from paretoul.pareto.fronts import as_minimisation
from paretoul.pareto.indicators import (
    additive_epsilon,
    dominated_share,
    front_points,
    hypervolume,
)
from paretoul.pareto.records import StudyData, TrialRecord
from paretoul.pareto.summary import Normalisation, normalisation
from paretoul.study.comparisons import auto_pairs
from paretoul.study.spec import arm_settings, declared_pairings

MIN_SEEDS = 5
"""Fewest seeds with which a winner is named."""
N_BOOT = 2000


@dataclass
class Side:
    """One side of a comparison: its arms and their finished trials in completion order."""

    arms: tuple[str, ...]
    trials: list[TrialRecord]

    def first(self, n: int) -> Side:
        return Side(self.arms, self.trials[:n])


def _sides(data: StudyData, jd: tuple[str, ...], fixed: tuple[str, ...]) -> tuple[Side, Side]:
    def side(arms: tuple[str, ...]) -> Side:
        done = [r for r in data.finished() if r.arm in arms]
        return Side(arms, sorted(done, key=lambda r: (r.completed_at or 0.0, r.arm, r.number)))

    return side(jd), side(fixed)


def _ideals(objectives: list[str]) -> list[float | None]:
    return [METRICS.get(o).ideal if o in METRICS else None for o in objectives]


def _per_seed(trials: list[TrialRecord], objectives: list[str], n_seeds: int) -> np.ndarray:
    """(seeds, trials, objectives) values; a trial's seed-mean where it lacks per-seed metrics."""
    out = np.empty((n_seeds, len(trials), len(objectives)))
    for j, r in enumerate(trials):
        for i in range(n_seeds):
            src = r.metrics_per_seed[i] if i < len(r.metrics_per_seed) else r.metrics
            out[i, j] = [src[o] for o in objectives]
    return out


def comparison_normalisation(data: StudyData, jd: Side, fixed: Side, n_seeds: int) -> Normalisation:
    """Normalisation over the two sides only: per-seed and mean values pooled, a gap objective's
    range starting at its ideal 0; the reference point is the spec's ``hv_reference`` or 1.1."""
    trials = jd.trials + fixed.trials
    pts = np.concatenate([_per_seed(trials, data.objectives, n_seeds).reshape(-1, len(data.objectives)),
                          np.array([r.objectives for r in trials], dtype=float)])
    G = as_minimisation(pts, data.directions)
    low, high = G.min(axis=0), G.max(axis=0)
    for k, (ideal, d) in enumerate(zip(_ideals(data.objectives), data.directions, strict=True)):
        if ideal is not None:
            low[k] = min(low[k], ideal if d == "min" else -ideal)
    high = np.where(high - low > 0, high, low + 1.0)
    return normalisation(data.directions, low, high, getattr(data.spec, "hv_reference", None))


def _figures(data: StudyData, jd: Side, fixed: Side, norm: Normalisation, n_seeds: int,
             rng_seed: int = 0) -> dict[str, Any]:
    """HV of both sides (seed-mean fronts and per seed), dominance, epsilon, paired interval."""
    obj = data.objectives
    A = norm(np.array([r.objectives for r in jd.trials], dtype=float))
    B = norm(np.array([r.objectives for r in fixed.trials], dtype=float))
    pa, pb = _per_seed(jd.trials, obj, n_seeds), _per_seed(fixed.trials, obj, n_seeds)
    hv_a = [hypervolume(norm(pa[i]), norm.reference) for i in range(n_seeds)]
    hv_b = [hypervolume(norm(pb[i]), norm.reference) for i in range(n_seeds)]
    diffs = np.array(hv_a) - np.array(hv_b)
    b_dom, n_b = dominated_share(A, B)
    a_dom, n_a = dominated_share(B, A)
    out: dict[str, Any] = {
        "trials": {"jd": n_a, "fixed": n_b},
        "hv": {"jd": hypervolume(A, norm.reference), "fixed": hypervolume(B, norm.reference)},
        "hv_per_seed": {"jd": hv_a, "fixed": hv_b},
        "hv_difference_per_seed": diffs.tolist(),
        "hv_difference": float(diffs.mean()),
        "fixed_dominated_by_jd": [b_dom, n_b], "jd_dominated_by_fixed": [a_dom, n_a],
        "epsilon_jd_to_fixed": additive_epsilon(front_points(A), front_points(B)),
        "epsilon_fixed_to_jd": additive_epsilon(front_points(B), front_points(A)),
    }
    if n_seeds >= 2:
        rng = np.random.default_rng(rng_seed)
        boot = diffs[rng.integers(0, n_seeds, (N_BOOT, n_seeds))].mean(axis=1)
        lo, hi = np.quantile(boot, [0.025, 0.975])
        out["interval"] = {"hv_difference_95": [float(lo), float(hi)], "seeds": n_seeds,
                           "resamples": N_BOOT, "method": "paired bootstrap over seeds"}
    else:
        out["interval"] = None
        out["no_interval"] = "one seed: no interval"
    return out


def _winner(fig: dict[str, Any], n_seeds: int) -> tuple[str | None, str]:
    iv = fig.get("interval")
    if n_seeds < MIN_SEEDS or iv is None:
        return None, f"too few seeds (fewer than {MIN_SEEDS}) to name a winner"
    lo, hi = iv["hv_difference_95"]
    if lo > 0:
        return "jd", "Jacobian descent's front is better"
    if hi < 0:
        return "fixed", "the fixed-weight front is better"
    return None, "the interval contains 0, so neither front is shown to be better"


def compare_pair(data: StudyData, name: str, jd_arms: tuple[str, ...], fixed_arms: tuple[str, ...],
                 declared: bool = True) -> dict[str, Any]:
    """Every figure of one comparison (see the module docstring), and its plain sentence."""
    jd, fixed = _sides(data, jd_arms, fixed_arms)
    out: dict[str, Any] = {"name": name, "declared": declared,
                           "sides": {"jd": list(jd_arms), "fixed": list(fixed_arms)}}
    if not jd.trials or not fixed.trials:
        out.update(winner=None, verdict=f"{name}: a side has no finished trial yet; nothing to compare.")
        return out
    n_seeds = min(max(len(r.metrics_per_seed), 1) for r in jd.trials + fixed.trials)
    norm = comparison_normalisation(data, jd, fixed, n_seeds)
    out["normalisation"] = norm.describe(data.objectives)
    out["seeds"] = n_seeds
    out["full_budget"] = _figures(data, jd, fixed, norm, n_seeds)
    n = min(len(jd.trials), len(fixed.trials))
    equal = len(jd.trials) != len(fixed.trials)
    out["equal_budget"] = _figures(data, jd.first(n), fixed.first(n), norm, n_seeds) if equal else None
    decisive = out["equal_budget"] if equal else out["full_budget"]
    out["decided_on"] = f"equal budget (the first {n} trials of each side)" if equal else "full budget"
    out["winner"], because = _winner(decisive, n_seeds)
    out["verdict"] = _sentence(name, out, decisive, because, n if equal else None)
    return out


def _sentence(name: str, c: dict[str, Any], f: dict[str, Any], because: str, n: int | None) -> str:
    full = c["full_budget"]["trials"]
    head = (f"{name} ({full['jd']} JD vs {full['fixed']} fixed-weight trials"
            + (f"; at equal budget, the first {n} of each" if n is not None else "") + "): ")
    bd, nb = f["fixed_dominated_by_jd"]
    ad, na = f["jd_dominated_by_fixed"]
    text = (head + f"Jacobian descent's trials dominate {bd} of {nb} fixed-weight trials, which "
            f"dominate {ad} of {na} Jacobian-descent trials; HV {f['hv']['jd']:.3f} (JD) vs "
            f"{f['hv']['fixed']:.3f} (fixed)")
    iv = f.get("interval")
    if iv is not None and c["seeds"] >= MIN_SEEDS:
        lo, hi = iv["hv_difference_95"]
        text += (f"; per-seed HV difference {f['hv_difference']:+.3f} [95% CI {lo:+.3f}, {hi:+.3f}] "
                 f"over {c['seeds']} seeds (paired bootstrap)")
    else:
        diffs = ", ".join(f"{d:+.3f}" for d in f["hv_difference_per_seed"])
        text += f"; per-seed HV differences {diffs} over {c['seeds']} seed(s)"
    return text + f": {because}."


def compare_study(data: StudyData) -> dict[str, Any]:
    """All comparisons of a study: the declared ones, or the automatic pairs (saying which pairs
    were made and which arms were left out, and why)."""
    if data.spec is None:
        return {"comparisons": [], "pairing": {"declared": False, "made": [], "left_out": {}}}
    if data.spec.comparisons is not None:
        pairings, left_out, declared = declared_pairings(data.spec), {}, True
    else:
        auto = auto_pairs(arm_settings(data.spec))
        pairings, left_out, declared = auto.made, auto.left_out, False
    return {
        "comparisons": [compare_pair(data, p.name, p.jd, p.fixed, declared) for p in pairings],
        "pairing": {"declared": declared, "made": [p.name for p in pairings], "left_out": left_out},
    }


def pairing_lines(result: dict[str, Any]) -> list[str]:
    """How the study's arms were paired (declared or automatic) and which were left out, why."""
    pairing = result["pairing"]
    head = ("Declared comparisons (checked matched when the spec was loaded): " if pairing["declared"]
            else "No comparisons declared; paired automatically where arms match: ")
    return [head + (", ".join(pairing["made"]) or "none")] + [
        f"left out {arm}: {why}" for arm, why in pairing["left_out"].items()]


def reference_text(c: dict[str, Any]) -> str:
    """A comparison's HV reference point in objective units, e.g. ``forget_gap 7.2, retain_gap 3.1``."""
    n = c["normalisation"]
    return ", ".join(f"{o} {v:.4g}" for o, v in zip(n["objectives"], n["reference_point"], strict=True))
