"""Matched JD-vs-fixed comparisons on constructed studies whose answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretoul import UserError
from paretoul.geometry.indicators import hypervolume
from paretoul.pareto.compare import MIN_SEEDS, compare_study
from paretoul.study.spec import parse_spec
from paretoul.study.storage.records import StudyData, TrialRecord

OBJ = ["forget_gap", "retain_gap"]


def _spec(n_seeds: int, comparisons=True, extra_arms=()):
    arms = [
        {"name": "jd", "method": "raul", "searcher": {"type": "optuna", "seed": 0}, "budget": 6,
         "fixed": {"reference": "uniform", "aggregator": "upgrad", "epochs": 8}, "search": ["lr"]},
        {"name": "fw", "method": "scalarized", "searcher": {"type": "optuna", "seed": 0}, "budget": 6,
         "fixed": {"reference": "uniform", "epochs": 8}, "search": ["w", "lr"]},
        *extra_arms,
    ]
    spec = {"name": "c", "dataset": "digits", "seeds": list(range(n_seeds)), "arms": arms}
    if comparisons:
        spec["comparisons"] = [{"name": "pair", "jd": "jd", "fixed": "fw"}]
    return parse_spec(spec)


def _record(arm: str, method: str, i: int, per_seed: list[tuple[float, float]], t: float) -> TrialRecord:
    per = [{"forget_gap": f, "retain_gap": r} for f, r in per_seed]
    mean = tuple(float(np.mean([p[o] for p in per])) for o in OBJ)
    return TrialRecord(arm, method, "optuna", i, "complete", {"i": i}, mean,
                       dict(zip(OBJ, mean, strict=True)), {}, per, list(range(len(per))), t)


def _front(shift: float, n_seeds: int, rng: np.random.Generator, n: int = 4, noise: float = 0.02):
    """n points on the line f + r = 1 + shift, per seed with a little noise."""
    pts = []
    for k in range(n):
        f = k / (n - 1)
        pts.append([(f + shift + rng.normal(0, noise), 1 - f + shift + rng.normal(0, noise))
                    for _ in range(n_seeds)])
    return pts


def _study(jd_pts, fw_pts, n_seeds, comparisons=True, extra=(), extra_arms=()) -> StudyData:
    recs = [_record("jd", "raul", i, p, 10.0 + i) for i, p in enumerate(jd_pts)]
    recs += [_record("fw", "scalarized", i, p, 10.5 + i) for i, p in enumerate(fw_pts)]
    recs += list(extra)
    return StudyData("c", Path("."), OBJ, ["min", "min"], recs, {},
                     _spec(n_seeds, comparisons, extra_arms))


def _one(d: StudyData) -> dict:
    (c,) = compare_study(d)["comparisons"]
    return c


def test_one_side_dominating_the_other_is_named_the_winner() -> None:
    rng = np.random.default_rng(0)
    c = _one(_study(_front(0.0, 6, rng), _front(0.3, 6, rng), 6))
    f = c["full_budget"]
    assert c["winner"] == "jd" and c["equal_budget"] is None
    assert f["fixed_dominated_by_jd"] == [4, 4] and f["jd_dominated_by_fixed"] == [0, 4]
    assert all(d > 0 for d in f["hv_difference_per_seed"]) and len(f["hv_difference_per_seed"]) == 6
    lo, hi = f["interval"]["hv_difference_95"]
    assert 0 < lo <= f["hv_difference"] <= hi
    assert "Jacobian descent's front is better" in c["verdict"]
    assert "paired bootstrap" in c["verdict"] and "over 6 seeds" in c["verdict"]
    # and the other way round
    c2 = _one(_study(_front(0.3, 6, rng), _front(0.0, 6, rng), 6))
    assert c2["winner"] == "fixed" and "the fixed-weight front is better" in c2["verdict"]


def test_two_identical_sides_have_no_winner() -> None:
    pts = _front(0.0, 6, np.random.default_rng(1))
    c = _one(_study(pts, pts, 6))
    assert c["winner"] is None
    assert c["full_budget"]["hv_difference_per_seed"] == [0.0] * 6
    assert "neither front is shown to be better" in c["verdict"]


def test_two_seeds_never_name_a_winner_and_list_the_differences() -> None:
    rng = np.random.default_rng(2)
    c = _one(_study(_front(0.0, 2, rng), _front(0.3, 2, rng), 2))
    assert c["winner"] is None and c["seeds"] == 2 < MIN_SEEDS
    diffs = c["full_budget"]["hv_difference_per_seed"]
    assert all(f"{d:+.3f}" in c["verdict"] for d in diffs)
    assert "too few seeds (fewer than 5) to name a winner" in c["verdict"]
    assert "95% CI" not in c["verdict"]


def test_an_unrelated_arm_moves_no_figure_of_the_comparison() -> None:
    rng = np.random.default_rng(3)
    jd, fw = _front(0.0, 5, rng), _front(0.1, 5, rng)
    ga_arm = {"name": "ga", "method": "ga", "searcher": {"type": "grid"}, "grid": {"lr": [0.001]}}
    ga = _record("ga", "ga", 0, [(3.0, 80.0)] * 5, 20.0)  # a huge retain gap
    alone = _one(_study(jd, fw, 5, extra_arms=[ga_arm]))
    with_ga = _one(_study(jd, fw, 5, extra=[ga], extra_arms=[ga_arm]))
    assert alone == with_ga  # every figure, the normalisation and the sentence


def test_unequal_budgets_are_also_compared_at_equal_counts() -> None:
    rng = np.random.default_rng(4)
    jd = _front(0.0, 5, rng, n=6)
    fw = _front(0.0, 5, rng, n=3)
    d = _study(jd, fw, 5)
    c = _one(d)
    assert c["full_budget"]["trials"] == {"jd": 6, "fixed": 3}
    assert c["equal_budget"]["trials"] == {"jd": 3, "fixed": 3}
    assert c["decided_on"] == "equal budget (the first 3 trials of each side)"
    assert "at equal budget, the first 3 of each" in c["verdict"]
    # the equal-budget JD HV is that of its first 3 trials in completion order
    from paretoul.pareto.compare import _sides, comparison_normalisation

    s_jd, s_fw = _sides(d, ("jd",), ("fw",))
    norm = comparison_normalisation(d, s_jd, s_fw, 5)
    first3 = np.array([r.objectives for r in s_jd.trials[:3]])
    assert c["equal_budget"]["hv"]["jd"] == pytest.approx(hypervolume(norm(first3), norm.reference))


def test_normalisation_starts_gap_objectives_at_their_ideal_zero() -> None:
    rng = np.random.default_rng(5)
    c = _one(_study(_front(2.0, 5, rng), _front(2.5, 5, rng), 5))
    ranges = c["normalisation"]["objectives"]
    assert ranges["forget_gap"]["range"][0] == 0.0 and ranges["retain_gap"]["range"][0] == 0.0
    ref = c["normalisation"]["reference_point"]
    assert ref[0] == pytest.approx(1.1 * ranges["forget_gap"]["range"][1])


def test_without_declared_comparisons_matched_arms_are_paired_and_the_rest_explained() -> None:
    rng = np.random.default_rng(6)
    other = {"name": "fw-grid", "method": "scalarized", "searcher": {"type": "grid"},
             "grid": {"w": [0.5]}, "fixed": {"reference": "uniform", "epochs": 8, "lr": 0.03}}
    d = _study(_front(0.0, 5, rng), _front(0.1, 5, rng), 5, comparisons=False, extra_arms=[other])
    result = compare_study(d)
    assert result["pairing"]["declared"] is False
    assert result["pairing"]["made"] == ["jd vs fw"]
    assert "differ in lr: searched float" in result["pairing"]["left_out"]["fw-grid"]


def _spec_error(comparison: dict, **jd_fixed) -> str:
    arms = [
        {"name": "jd", "method": "raul", "searcher": {"type": "optuna"}, "budget": 2,
         "fixed": {"reference": "uniform", "aggregator": "upgrad", **jd_fixed}, "search": ["lr"]},
        {"name": "fw", "method": "scalarized", "searcher": {"type": "optuna"}, "budget": 2,
         "fixed": {"reference": "uniform"}, "search": ["w", "lr"]},
        {"name": "mean", "method": "raul", "searcher": {"type": "optuna"}, "budget": 2,
         "fixed": {"reference": "uniform", "aggregator": "mean"}, "search": ["lr"]},
        {"name": "emp", "method": "scalarized", "searcher": {"type": "optuna"}, "budget": 2,
         "fixed": {"reference": "empirical-class"}, "search": ["w", "lr"]},
    ]
    with pytest.raises(UserError) as e:
        parse_spec({"name": "x", "arms": arms, "comparisons": [comparison]})
    assert "\n" not in str(e.value)
    return str(e.value)


def test_a_mean_aggregator_is_refused_as_the_jd_side() -> None:
    msg = _spec_error({"jd": "mean", "fixed": "fw"})
    assert msg.startswith("comparisons[0].jd: arm 'mean' can use aggregator: mean")


def test_mismatched_references_and_parameters_are_refused() -> None:
    assert _spec_error({"jd": "jd", "fixed": "emp"}) == (
        "comparisons[0].fixed: arms 'jd' and 'emp' differ in reference: fixed 'uniform' vs fixed "
        "'empirical-class'")
    assert "differ in temperature: fixed 2.0 vs fixed 1.0" in _spec_error(
        {"jd": "jd", "fixed": "fw"}, temperature=2.0)
    assert "no arm named 'nope'" in _spec_error({"jd": "jd", "fixed": "nope"})
    assert "is a scalarized arm, not raul" in _spec_error({"jd": "fw", "fixed": "emp"})


# -- replicates --------------------------------------------------------------------------------

def _replicated(jd_runs, fw_runs, n_seeds):
    """A study whose arms ran len(runs) replicates, each run a list of per-seed points."""
    from dataclasses import replace

    recs = []
    for arm, method, runs in (("jd", "raul", jd_runs), ("fw", "scalarized", fw_runs)):
        for k, run in enumerate(runs):
            recs += [replace(_record(arm, method, i, p, 10.0 + i + 0.1 * k), replicate=k)
                     for i, p in enumerate(run)]
    arms = [{"name": "jd", "method": "raul", "searcher": {"type": "optuna"}, "budget": 4,
             "replicates": len(jd_runs), "fixed": {"reference": "uniform", "aggregator": "upgrad"},
             "search": ["lr"]},
            {"name": "fw", "method": "scalarized", "searcher": {"type": "optuna"}, "budget": 4,
             "replicates": len(fw_runs), "fixed": {"reference": "uniform"}, "search": ["w", "lr"]}]
    spec = parse_spec({"name": "c", "seeds": list(range(n_seeds)), "arms": arms,
                       "comparisons": [{"name": "pair", "jd": "jd", "fixed": "fw"}]})
    return StudyData("c", Path("."), OBJ, ["min", "min"], recs, {}, spec)


def test_replicates_each_have_a_front_and_the_interval_resamples_them() -> None:
    rng = np.random.default_rng(7)
    good, bad = _front(0.0, 5, rng), _front(0.4, 5, rng)
    d = _replicated([good, bad], [_front(0.2, 5, rng), _front(0.2, 5, rng)], 5)
    c = _one(d)
    f = c["full_budget"]
    assert c["replicates"] == 2 and f["trials"] == {"jd": 8, "fixed": 8}
    per_run = f["hv_per_replicate"]["jd"]
    assert per_run[0] > per_run[1]  # the good run and the bad one, each its own front
    assert f["hv"]["jd"] == pytest.approx(np.mean(per_run))
    assert "2 search runs resampled" in f["interval"]["method"]
    assert "from 2 search runs per side" in c["verdict"] and "mean over search runs" in c["verdict"]
    # the two JD runs disagree: resampling them widens the interval over a seed-only bootstrap
    from paretoul.pareto.compare import _interval

    hv_a, hv_b = np.array([[1.0, 1.1, 0.9], [0.2, 0.3, 0.1]]), np.array([[0.6, 0.6, 0.6]])
    lo, hi = _interval(hv_a, hv_b, 0)
    lo1, hi1 = _interval(hv_a.mean(axis=0, keepdims=True), hv_b, 0)
    assert hi - lo > hi1 - lo1


def test_with_one_replicate_the_interval_is_the_paired_seed_bootstrap() -> None:
    from paretoul.pareto.compare import N_BOOT, _interval

    rng = np.random.default_rng(8)
    hv_a, hv_b = rng.random((1, 6)), rng.random((1, 6))
    diffs = hv_a[0] - hv_b[0]
    boot = diffs[np.random.default_rng(0).integers(0, 6, (N_BOOT, 6))].mean(axis=1)
    assert _interval(hv_a, hv_b, 0) == pytest.approx(tuple(np.quantile(boot, [0.025, 0.975])))


def test_replicate_counts_must_match_across_a_comparison() -> None:
    arms = [{"name": "jd", "method": "raul", "searcher": {"type": "optuna"}, "budget": 2,
             "replicates": 3, "fixed": {"reference": "uniform", "aggregator": "upgrad"},
             "search": ["lr"]},
            {"name": "fw", "method": "scalarized", "searcher": {"type": "optuna"}, "budget": 2,
             "fixed": {"reference": "uniform"}, "search": ["w", "lr"]}]
    with pytest.raises(UserError) as e:
        parse_spec({"name": "x", "arms": arms, "comparisons": [{"jd": "jd", "fixed": "fw"}]})
    assert str(e.value) == ("comparisons[0].fixed: arms 'jd' and 'fw' differ in replicates: 3 vs 1 "
                            "(both sides need the same number of search runs)")
    grid = {"name": "g", "method": "ft", "searcher": {"type": "grid"}, "grid": {"lr": [0.1]},
            "replicates": 2}
    with pytest.raises(UserError, match=r"^arms\[0\]\.replicates: 2: a grid arm is deterministic"):
        parse_spec({"name": "x", "arms": [grid]})


# -- held-out validation seeds ----------------------------------------------------------------

def _with_validation(d: StudyData, values: dict[str, list[tuple[float, float]]], seeds: list[int]):
    from dataclasses import replace

    validation = {key: {s: {"forget_gap": f, "retain_gap": r} for s, (f, r) in zip(seeds, pts,
                                                                                   strict=True)}
                  for key, pts in values.items()}
    return replace(d, validation_seeds=seeds, validation=validation)


def test_validation_measures_the_search_fronts_on_the_held_out_seeds() -> None:
    rng = np.random.default_rng(9)
    jd = _front(0.0, 5, rng, n=3)
    fw = _front(0.0, 5, rng, n=3)
    jd.append([(2.0, 2.0)] * 5)  # jd#3: dominated on the search seeds
    d = _study(jd, fw, 5)
    assert compare_study(d)["comparisons"][0]["on"] == "search"
    seeds = [100, 101, 102, 103, 104]
    # on the validation seeds every search-front trial is worse by 0.5, the dominated one superb
    vals = {f"{r.arm}#{r.number}": [(r.objectives[0] + 0.5 * (r.arm == "jd"),
                                     r.objectives[1] + 0.5 * (r.arm == "jd"))] * 5
            for r in d.finished()}
    vals["jd#3"] = [(0.0, 0.0)] * 5
    dv = _with_validation(d, vals, seeds)
    c = _one(dv)  # default: validation
    assert c["on"] == "validation" and c["seed_list"] == seeds and c["seeds"] == 5
    assert c["full_budget"]["trials"] == {"jd": 3, "fixed": 3}  # the fronts the search delivered
    assert c["winner"] == "fixed"  # jd#3 was never selected, so it cannot rescue the JD side
    assert "measured on the held-out validation seeds 100-104" in c["verdict"]
    assert compare_study(dv, "search")["comparisons"] == [_one(d)]  # --on search: the search's
    # a front trial without validation figures: the default falls back, --on validation refuses
    del vals["fw#0"]
    partial = _with_validation(d, vals, seeds)
    c = _one(partial)
    assert c["on"] == "search" and "fw#0 is not evaluated on validation seed(s) 100" in \
        c["validation_missing"][0]
    with pytest.raises(UserError, match=r"^on: comparison .pair.: 1 front trial"):
        compare_study(partial, "validation")



def test_paired_by_w_names_a_winner_per_w_only_with_five_seeds_and_a_clear_interval() -> None:
    """Constructed trials: at w = 0.3 JD's forget_gap is lower on every one of 6 seeds (JD wins
    it), at w = 0.7 the two sides differ by noise of both signs (no winner); with 4 seeds the
    same clear difference names no winner."""
    from paretoul.pareto.paired import paired_figures
    from paretoul.study.storage.records import StudyData, TrialRecord

    def rec(arm, method, n, w, gaps, seeds):
        per = [{"forget_gap": g, "retain_gap": 1.0, "avg_gap": (g + 1.0) / 2} for g in gaps]
        params = {"w": w, "lr": 0.03, **({"aggregator": "upgrad"} if method == "raul" else {})}
        return TrialRecord(arm, method, "grid", n, "complete", params, (sum(gaps) / len(gaps), 1.0),
                           per[0], {}, per, seeds, float(n))

    def study(seeds):
        k = len(seeds)
        jd = [rec("jd", "raul", 0, 0.3, [1.0 + 0.1 * i for i in range(k)], seeds),
              rec("jd", "raul", 1, 0.7, [2.0, 2.2, 1.9, 2.1, 2.0, 2.05][:k], seeds)]
        fx = [rec("fx", "scalarized", 0, 0.3, [2.0 + 0.1 * i for i in range(k)], seeds),
              rec("fx", "scalarized", 1, 0.7, [2.1, 2.0, 2.0, 2.0, 2.1, 1.95][:k], seeds)]
        data = StudyData("t", Path("."), ["forget_gap", "retain_gap"], ["min", "min"], jd + fx, {}, None)
        return paired_figures(data, jd, fx)

    p = study(list(range(6)))
    assert p["by"] == ["w"] and [pt["point"] for pt in p["points"]] == [{"w": 0.3}, {"w": 0.7}]
    low, mid = p["points"]
    assert low["figures"]["forget_gap"]["difference"] == pytest.approx(-1.0)
    assert low["figures"]["forget_gap"]["winner"] == "jd"
    assert low["figures"]["retain_gap"]["winner"] is None  # identical: interval [0, 0] holds 0
    assert mid["figures"]["forget_gap"]["winner"] is None
    assert p["summary"]["forget_gap"] == {"points": 2, "jd_better": 1, "fixed_better": 0, "neither": 1,
                                          "jd_ahead_on_mean": 1, "share_jd_better": 0.5}
    few = study(list(range(4)))
    assert few["points"][0]["figures"]["forget_gap"]["winner"] is None
    assert "fewer than 5" in few["summary"]["forget_gap"]["note"]
