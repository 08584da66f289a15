"""Jacobian descent against fixed weights, as matched comparisons (``paretoul compare``).

Each comparison (declared in the spec's ``comparisons``, or paired automatically where arms
match: :mod:`paretoul.study.spec.comparisons`) is measured on its own two sides only:

- **normalisation** over the two sides' per-seed objective values (or the spec's
  ``hv_reference``), starting at the ideal 0 of a gap objective, so an arm outside the
  comparison cannot move any of its figures; the reference point is stated in objective units;
- **hypervolume** of each side's front of seed-mean points, and **per seed** (each trial
  records its metrics per seed, so each side has one front per seed); the difference is the
  mean of the paired per-seed differences, with a paired bootstrap 95% interval over seeds;
- **equal budgets**: when the sides finished different numbers of trials, every figure is also
  given for the first n trials of each (completion order), and the verdict uses those;
- a **winner** is named only with at least :data:`MIN_SEEDS` seeds and an interval excluding 0;
- **replicates** (an arm's independent search runs): each run has its own front; a side's HV is
  the mean over its runs, and the interval resamples runs as well as seeds;
- **held-out seeds** (``on="validation"``): the fronts the search delivered (selected on its
  seeds) measured on seeds it never saw (``paretoul validate``);
- **the do-nothing point**: how many of each side's trials the untouched original dominates, and
  each side's HV gain over the original's point (HV of the side with the original, less the
  original's own; 0 when the original dominates the whole side);
- **paired by w** (``paired_by: w``): on top of the front figures, per ``w`` the paired per-seed
  differences of each objective and of Avg. Gap (:mod:`paretoul.pareto.paired`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from paretoul.errors import UserError
from paretoul.geometry.fronts import as_minimisation, non_dominated
from paretoul.geometry.indicators import (
    additive_epsilon,
    dominated_share,
    front_points,
    hypervolume,
)
from paretoul.metrics import METRICS
from paretoul.pareto.paired import MIN_SEEDS, N_BOOT, paired_figures, paired_sentence
from paretoul.pareto.sentences import measured_on, verdict_sentence
from paretoul.pareto.summary import Normalisation, normalisation
from paretoul.study.spec import arm_settings, declared_pairings
from paretoul.study.spec.comparisons import auto_pairs
from paretoul.study.storage.records import StudyData, TrialRecord

__all__ = ["MIN_SEEDS", "N_BOOT", "compare_pair", "compare_study"]


@dataclass
class Side:
    """One side of a comparison: its arms, and per search run (replicate) the finished trials in
    completion order."""

    arms: tuple[str, ...]
    runs: list[list[TrialRecord]]

    @property
    def trials(self) -> list[TrialRecord]:
        return [r for run in self.runs for r in run]

    def first(self, n: int) -> Side:
        return Side(self.arms, [run[:n] for run in self.runs])

    def fronts(self, directions: list[str]) -> Side:
        """Each run's non-dominated trials (by the search's seed-mean objectives): what the
        search delivered."""
        def front(run: list[TrialRecord]) -> list[TrialRecord]:
            if not run:
                return []
            idx = non_dominated(np.array([r.objectives for r in run], dtype=float), directions)
            return [run[i] for i in idx]

        return Side(self.arms, [front(run) for run in self.runs])


def _sides(data: StudyData, jd: tuple[str, ...], fixed: tuple[str, ...]) -> tuple[Side, Side]:
    def side(arms: tuple[str, ...]) -> Side:
        done = [r for r in data.finished() if r.arm in arms]
        replicates = sorted({r.replicate for r in done}) or [0]
        runs = [sorted((r for r in done if r.replicate == k),
                       key=lambda r: (r.completed_at or 0.0, r.arm, r.number)) for k in replicates]
        return Side(arms, runs)

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


def _hv_table(side: Side, data: StudyData, norm: Normalisation, n_seeds: int
              ) -> tuple[list[float], np.ndarray]:
    """Per run: HV of its seed-mean front; per (run, seed): HV of that seed's front."""
    mean_hv, per = [], np.zeros((len(side.runs), n_seeds))
    for k, run in enumerate(side.runs):
        mean_hv.append(hypervolume(norm(np.array([r.objectives for r in run], dtype=float)),
                                   norm.reference) if run else 0.0)
        values = _per_seed(run, data.objectives, n_seeds)
        per[k] = [hypervolume(norm(values[i]), norm.reference) if run else 0.0
                  for i in range(n_seeds)]
    return mean_hv, per


def _interval(hv_a: np.ndarray, hv_b: np.ndarray, rng_seed: int) -> tuple[float, float]:
    """Bootstrap 95% interval of the mean per-seed HV difference: seeds resampled paired (both
    sides were measured on the same seeds) and, with replicates, each side's search runs
    resampled independently (a run of one side has no partner on the other)."""
    rng = np.random.default_rng(rng_seed)
    (ra, n_seeds), rb = hv_a.shape, len(hv_b)
    s = rng.integers(0, n_seeds, (N_BOOT, n_seeds))
    a = rng.integers(0, ra, (N_BOOT, ra))
    b = rng.integers(0, rb, (N_BOOT, rb))
    boot = (hv_a[a[:, :, None], s[:, None, :]].mean(axis=(1, 2))
            - hv_b[b[:, :, None], s[:, None, :]].mean(axis=(1, 2)))
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return float(lo), float(hi)


def _against_original(points: np.ndarray, original: np.ndarray | None, norm: Normalisation
                      ) -> dict[str, Any] | None:
    """Of normalised ``points``: how many the original's (normalised) point dominates, and the HV
    they add to the original's."""
    if original is None or not len(points):
        return None
    o = norm(original[None, :])
    base = hypervolume(o, norm.reference)
    dominated, n = dominated_share(o, points)
    return {"dominated_by_original": [dominated, n],
            "hv_gain_over_original": hypervolume(np.vstack([o, points]), norm.reference) - base}


def _figures(data: StudyData, jd: Side, fixed: Side, norm: Normalisation, n_seeds: int,
             rng_seed: int = 0, original: np.ndarray | None = None) -> dict[str, Any]:
    """HV of both sides (seed-mean fronts and per seed; with replicates, the mean over search
    runs), dominance and epsilon (trials pooled over runs), and the bootstrap interval."""
    A = norm(np.array([r.objectives for r in jd.trials], dtype=float))
    B = norm(np.array([r.objectives for r in fixed.trials], dtype=float))
    hv_a, per_a = _hv_table(jd, data, norm, n_seeds)
    hv_b, per_b = _hv_table(fixed, data, norm, n_seeds)
    diffs = per_a.mean(axis=0) - per_b.mean(axis=0)
    b_dom, n_b = dominated_share(A, B)
    a_dom, n_a = dominated_share(B, A)
    out: dict[str, Any] = {
        "trials": {"jd": n_a, "fixed": n_b},
        "hv": {"jd": float(np.mean(hv_a)), "fixed": float(np.mean(hv_b))},
        "hv_per_seed": {"jd": per_a.mean(axis=0).tolist(), "fixed": per_b.mean(axis=0).tolist()},
        "hv_difference_per_seed": diffs.tolist(),
        "hv_difference": float(diffs.mean()),
        "fixed_dominated_by_jd": [b_dom, n_b], "jd_dominated_by_fixed": [a_dom, n_a],
        "epsilon_jd_to_fixed": additive_epsilon(front_points(A), front_points(B)),
        "epsilon_fixed_to_jd": additive_epsilon(front_points(B), front_points(A)),
    }
    vs = {side: _against_original(pts, original, norm) for side, pts in (("jd", A), ("fixed", B))}
    if vs["jd"] is not None:
        out["original"] = vs
    replicates = len(jd.runs)
    if replicates > 1:
        out["hv_per_replicate"] = {"jd": hv_a, "fixed": hv_b}
        out["trials_per_replicate"] = {"jd": [len(r) for r in jd.runs],
                                       "fixed": [len(r) for r in fixed.runs]}
    if n_seeds >= 2:
        lo, hi = _interval(per_a, per_b, rng_seed)
        method = "paired bootstrap over seeds" + (
            f", with each side's {replicates} search runs resampled" if replicates > 1 else "")
        out["interval"] = {"hv_difference_95": [lo, hi], "seeds": n_seeds, "replicates": replicates,
                           "resamples": N_BOOT, "method": method}
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


def _validated(data: StudyData, side: Side) -> tuple[Side, list[str]]:
    """``side`` as measured on the validation seeds; the reasons of trials lacking them."""
    missing = []
    runs = []
    for run in side.runs:
        view = []
        for r in run:
            v = data.validated(r)
            if v is None:
                missing.append(data.missing_validation(r))
            else:
                view.append(v)
        runs.append(view)
    return Side(side.arms, runs), missing


def compare_pair(data: StudyData, name: str, jd_arms: tuple[str, ...], fixed_arms: tuple[str, ...],
                 declared: bool = True, on: str | None = None, paired_by: str | None = None
                 ) -> dict[str, Any]:
    """Every figure of one comparison (see the module docstring), and its plain sentence.

    ``on="validation"``: each search run's front (and, at equal budget, the front of its first
    n trials), selected on the search seeds, measured on the validation seeds. The default
    ``on`` is validation when the study has it and every such trial was validated, else search
    (the result says which, and why)."""
    explicit = on is not None
    on = data.resolve_on(on)
    jd, fixed = _sides(data, jd_arms, fixed_arms)
    out: dict[str, Any] = {"name": name, "declared": declared,
                           "design": f"paired by {paired_by}" if paired_by else "unpaired",
                           "sides": {"jd": list(jd_arms), "fixed": list(fixed_arms)}}
    if not jd.trials or not fixed.trials:
        out.update(winner=None, on=on, verdict=f"{name}: a side has no finished trial yet; nothing "
                   "to compare.")
        return out
    n = min(len(run) for run in jd.runs + fixed.runs)
    equal = len({len(run) for run in jd.runs + fixed.runs}) > 1
    budgets = {"full": (jd, fixed), "equal": (jd.first(n), fixed.first(n)) if equal else None}
    if on == "validation":
        views: dict[str, tuple[Side, Side] | None] = {}
        missing: list[str] = []
        for label, pair in budgets.items():
            if pair is None:
                views[label] = None
                continue
            (a, miss_a), (b, miss_b) = (_validated(data, s.fronts(data.directions)) for s in pair)
            views[label] = (a, b)
            missing += [m for m in miss_a + miss_b if m not in missing]
        if missing:
            if explicit:
                raise UserError("on", f"comparison {name!r}: {len(missing)} front trial(s) lack "
                                f"validation figures ({missing[0]}); run `paretoul validate "
                                f"{data.directory}`")
            out["validation_missing"] = missing
            on = "search"
        else:
            budgets = views
    n_seeds = (len(data.validation_seeds) if on == "validation"
               else min(max(len(r.metrics_per_seed), 1) for r in jd.trials + fixed.trials))
    full_jd, full_fixed = budgets["full"]  # type: ignore[misc]
    eq = budgets["equal"]
    norm = comparison_normalisation(data, Side(jd.arms, full_jd.runs + (eq[0].runs if eq else [])),
                                    Side(fixed.arms, full_fixed.runs + (eq[1].runs if eq else [])),
                                    n_seeds)
    out["on"] = on
    out["measured_on"] = measured_on(data, on)
    out["seed_list"] = data.seeds_on(on)
    out["replicates"] = len(jd.runs)
    out["normalisation"] = norm.describe(data.objectives)
    out["seeds"] = n_seeds
    original = data.baseline_points(on).get("original")
    out["original_point"] = original.tolist() if original is not None else None
    out["full_budget"] = _figures(data, full_jd, full_fixed, norm, n_seeds, original=original)
    out["equal_budget"] = _figures(data, eq[0], eq[1], norm, n_seeds, original=original) if eq else None
    if paired_by:
        out["paired"] = _paired(data, jd, fixed, on)
    decisive = out["equal_budget"] if equal else out["full_budget"]
    each = "search run" if len(jd.runs) > 1 else "side"
    out["decided_on"] = f"equal budget (the first {n} trials of each {each})" if equal else "full budget"
    out["winner"], because = _winner(decisive, n_seeds)
    out["verdict"] = verdict_sentence(name, out, decisive, because, n if equal else None)
    if paired_by:
        out["verdict"] = (f"{name}: {paired_sentence(out['paired'])} ({out['paired']['measured_on']})"
                          f". Fronts: {out['verdict'].removeprefix(name + ' ')}")
    return out


def _paired(data: StudyData, jd: Side, fixed: Side, on: str) -> dict[str, Any]:
    """The per-w figures on ``on``'s seeds (every trial of both sides; the search seeds when a
    trial lacks validation figures, saying so)."""
    sides = [jd.trials, fixed.trials]
    used = on
    if on == "validation":
        views = [[data.validated(r) for r in trials] for trials in sides]
        if all(v is not None for view in views for v in view):
            sides = views  # type: ignore[assignment]
        else:
            used = "search"
    out = paired_figures(data, *sides)
    out["measured_on"] = measured_on(data, used)
    if used != on:
        out["note"] = "some trials lack validation figures, so the paired figures use the search seeds"
    return out


def compare_study(data: StudyData, on: str | None = None) -> dict[str, Any]:
    """All comparisons of a study: the declared ones, or the automatic pairs (saying which pairs
    were made and which arms were left out, and why), measured on ``on``'s seeds (see
    :func:`compare_pair`)."""
    if data.spec is None:
        return {"comparisons": [], "pairing": {"declared": False, "made": [], "left_out": {}}}
    data.resolve_on(on)  # an explicit --on validation without validation figures is refused
    if data.spec.comparisons is not None:
        pairings, left_out, declared = declared_pairings(data.spec), {}, True
    else:
        auto = auto_pairs(arm_settings(data.spec))
        pairings, left_out, declared = auto.made, auto.left_out, False
    return {
        "comparisons": [compare_pair(data, p.name, p.jd, p.fixed, declared, on, p.paired_by)
                        for p in pairings],
        "pairing": {"declared": declared, "made": [p.name for p in pairings], "left_out": left_out,
                    "designs": {p.name: p.design for p in pairings}},
    }


def comparison_trials(data: StudyData) -> list[TrialRecord]:
    """The trials ``compare --on validation`` measures: each search run's front and the front of
    its first n trials (equal budget), per side of every comparison; every trial of both sides of
    a comparison paired by w."""
    out: dict[str, TrialRecord] = {}
    result_pairs = (declared_pairings(data.spec) if data.spec.comparisons is not None
                    else auto_pairs(arm_settings(data.spec)).made)
    for p in result_pairs:
        jd, fixed = _sides(data, p.jd, p.fixed)
        if not jd.trials or not fixed.trials:
            continue
        n = min(len(run) for run in jd.runs + fixed.runs)
        for side in (jd, fixed, jd.first(n), fixed.first(n)):
            for r in side.fronts(data.directions).trials:
                out.setdefault(r.key, r)
        if p.paired_by:  # the paired figures use every trial of both sides
            for r in jd.trials + fixed.trials:
                out.setdefault(r.key, r)
    return list(out.values())
