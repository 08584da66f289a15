"""Each choose rule on a front whose answer is known (the JD-vs-fixed verdict: test_compare.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretoul import UserError
from paretoul.pareto.choose import choose
from paretoul.study.storage.records import StudyData, TrialRecord


def _record(i, f, r, method="raul", arm="a", **metrics) -> TrialRecord:
    m = {"forget_gap": f, "retain_gap": r, "avg_gap": (f + r) / 2, "ra": 100 - r, "ta": 95 - r,
         "ref_gap": f, **metrics}
    return TrialRecord(arm, method, "optuna", i, "complete", {"i": i}, (f, r), m, {}, [], [0], float(i))


def _data(points, **kw) -> StudyData:
    recs = [_record(i, f, r, **kw) for i, (f, r) in enumerate(points)]
    ref = {"0": {"original": {"ra": 100.0, "ta": 95.0}, "oracle": {}}}
    return StudyData("t", Path("."), ["forget_gap", "retain_gap"], ["min", "min"], recs, ref, None)


# A convex front with an obvious knee at (1, 1), plus a dominated point.
FRONT = [(0.0, 10.0), (1.0, 1.0), (10.0, 0.0), (5.0, 5.0), (0.5, 6.0), (6.0, 0.5)]


def test_knee() -> None:
    assert choose(_data(FRONT), "knee").record.number == 1


def test_compromise_p_norms() -> None:
    d = _data([(0.0, 1.0), (0.45, 0.45), (1.0, 0.0), (0.2, 0.75)])
    assert choose(d, "compromise", p=2).record.number == 1
    assert choose(d, "compromise", p=1).record.number == 1
    d2 = _data([(0.0, 1.0), (0.3, 0.6), (1.0, 0.0), (0.6, 0.25)])
    assert choose(d2, "compromise", p=float("inf")).record.number in (1, 3)


def test_weights_pick_the_preferred_end() -> None:
    d = _data(FRONT)
    assert choose(d, "weights", weights=[1.0, 0.0001]).record.number == 0  # forget matters
    assert choose(d, "weights", weights=[0.0001, 1.0]).record.number == 2  # retain matters
    with pytest.raises(UserError, match="weights"):
        choose(d, "weights", weights=[1.0])


def test_constrained_and_closest_to_retrain() -> None:
    d = _data(FRONT)
    # retain drop = retain_gap here; keep <= 1 point: candidates 1 (1,1), 2 (10,0), 5 (6,0.5)
    c = choose(d, "constrained", max_retain_drop=1.0)
    assert c.record.number == 1
    assert choose(d, "constrained", min_test_acc=94.4).record.number == 5
    with pytest.raises(UserError, match="no finished trial"):
        choose(d, "constrained", min_test_acc=99.0)
    assert choose(d, "closest-to-retrain").record.number == 1  # avg_gap 1.0


def test_oracle_free_reports_distance_to_the_oracle_choice() -> None:
    d = _data(FRONT)
    c = choose(d, "oracle-free")
    assert c.details["oracle_based_choice"] == "a#1"
    assert "Avg. Gap" in c.reason


def test_single_trial_and_fallback() -> None:
    d = _data([(1.0, 2.0)])
    c = choose(d, "knee")
    assert c.record.number == 0 and "fell back" in c.reason


def test_constrained_needs_the_original_to_measure_a_drop() -> None:
    d = _data(FRONT)
    d.baselines = {}
    with pytest.raises(UserError, match=r"max_retain_drop: .*use min_test_acc") as e:
        choose(d, "constrained", max_retain_drop=1.0)
    assert e.value.cli_text().endswith("use --min-test-acc")  # the CLI's wording
    c = choose(d, "constrained", min_test_acc=94.4)  # an absolute bound needs no original
    assert c.record.number == 5 and "TA >= 94.4" in c.reason


def test_a_choice_the_untouched_original_dominates_says_so() -> None:
    d = _data(FRONT)
    d.baselines["0"]["original"].update(forget_gap=0.8, retain_gap=0.9)  # dominates the knee (1, 1)
    c = choose(d, "knee")
    assert c.record.number == 1 and c.details["dominated_by_original"] is True
    assert "the untouched original dominates it (forget_gap 0.80, retain_gap 0.90)" in c.reason
    d.baselines["0"]["original"].update(forget_gap=3.0, retain_gap=0.9)
    c = choose(d, "knee")
    assert c.details["dominated_by_original"] is False and "original dominates" not in c.reason


def test_a_reference_is_never_chosen_and_is_off_the_overall_front() -> None:
    """The independent retrain (a reference: the noise floor) closest to the oracle and on the
    knee: every rule picks among the unlearning trials, and closest-to-retrain says so."""
    from paretoul.pareto.summary import summarise_fronts

    d = _data(FRONT)
    d.records.append(_record(len(FRONT), 0.2, 0.2, method="retrain", arm="retrain"))
    for rule, kw in (("knee", {}), ("compromise", {}), ("weights", {"weights": [1.0, 1.0]}),
                     ("constrained", {"max_retain_drop": 1.0}), ("closest-to-retrain", {})):
        c = choose(d, rule, **kw)
        assert c.record.method != "retrain", rule
    c = choose(d, "closest-to-retrain")
    assert "the reference retrain#6 (retrain, the noise floor) is closer (0.20)" in c.reason
    fronts = summarise_fronts(d)
    assert "retrain" not in {p["method"] for p in fronts["overall"]["front"]}
    assert fronts["overall"]["finished"] == len(FRONT)
    assert fronts["methods"]["retrain"]["front"]  # tabulated apart


def test_a_study_of_references_only_has_nothing_to_choose() -> None:
    d = _data([(0.2, 0.2)], method="retrain")
    with pytest.raises(UserError, match="only references"):
        choose(d, "knee")
