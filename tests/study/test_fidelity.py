"""Successive halving over seeds (``fidelity`` on an arm), without Ray: the promotion rule on
constructed results, every searcher kind driven through ask/tell against a real SQLite database
with a synthetic per-seed objective, and resume after kills at seeded random points.

Must hold: the budget counts configurations; promotion follows non-dominated rank (crowding
distance breaking ties) over the configurations finished at a rung; a configuration's record at
the top rung equals one run on every seed; a killed and resumed study makes the same claims, in
the same order, as an uninterrupted one (one trial at a time).
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from paretoul.errors import UserError
from paretoul.execution.results import combined, over_seeds
from paretoul.geometry.fronts import rank_order
from paretoul.study.search import ArmSearcher, make_arm
from paretoul.study.search.points import param_key
from paretoul.study.spec import parse_spec
from paretoul.study.storage import rungs, store
from paretoul.study.storage.outcome import Outcome, outcome_of
from tests.study.test_searcher_resume import ARMS, _objectives, _reap

S = optuna.trial.TrialState
SEEDS = [0, 1, 2, 3]
FIDELITY = {"seeds": [1, 2, 4], "eta": 2}


def _spec(kind: str, fidelity: dict[str, Any] | None = None, **changes: Any):
    arm = {"name": kind, **ARMS[kind], "fidelity": fidelity or FIDELITY, **changes}
    return parse_spec({"name": "s", "dataset": "digits", "forget": "random:0.1", "seeds": SEEDS,
                       "arms": [arm]})


def _per_seed(params: dict[str, Any], seed: int) -> dict[str, float]:
    """The synthetic objective of :mod:`test_searcher_resume` plus a seed-to-seed wobble."""
    f, r = _objectives(params)
    x = sum(float(v) for v in params.values() if isinstance(v, int | float))
    return {"forget_gap": f + 0.05 * math.sin(7 * seed + x), "retain_gap": r + 0.05 * math.cos(5 * seed + x)}


def _result(params: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """What ``run_trial`` reports for ``params`` on ``seeds``."""
    return {**over_seeds([_per_seed(params, s) for s in seeds]), "seeds": list(seeds),
            "unlearn_s": 0.5 * len(seeds), "trial_s": 0.0}


def _drive(arm: ArmSearcher, steps: int | None, tag: str) -> int:
    n = 0
    while steps is None or n < steps:
        tid = f"{tag}-{n}"
        params = arm.suggest(tid)
        if params is None:
            break
        run = arm.pending_run(tid)
        assert run is not None
        arm.complete(tid, _result(params, run[1]), None)
        n += 1
    return n


def _claims(study: optuna.Study) -> list[tuple[str, int, str]]:
    """Every run in claim order, interrupted and retired ones left out: (params, rung, state)."""
    return [(param_key(t.params), rungs.rung_of(t), t.state.name) for t in study.get_trials(deepcopy=False)
            if outcome_of(t) in (Outcome.COMPLETE, Outcome.FAILED, Outcome.RUNNING)]


def _storage(path: Path) -> optuna.storages.RDBStorage:
    return store.open_storage(f"sqlite:///{path}")


def test_rank_order_is_non_dominated_sorting_then_crowding_then_index() -> None:
    G = np.array([[1, 5], [2, 2], [5, 1], [3, 3], [2.5, 2.5], [6, 6], [1.5, 3]])
    order = list(rank_order(G))
    # front 0: (1,5), (1.5,3), (2,2), (5,1); the extremes (infinite crowding) first, by index
    assert order[:2] == [0, 2] and set(order[2:4]) == {1, 6}
    assert order[4:] == [4, 3, 5]  # front 1: (2.5,2.5); front 2: (3,3); front 3: (6,6)


def test_qualifying_takes_the_top_share_and_never_a_failed_one() -> None:
    G = np.array([[1, 5], [2, 2], [5, 1], [3, 3], [np.nan, np.nan], [6, 6]])
    assert rungs.qualifying(G, [None] * 6, 2, "rank") == [0, 2, 1]  # 6 // 2 = 3: front 0
    assert rungs.qualifying(G, [None] * 6, 3, "rank") == [0, 2]  # extremes of front 0
    assert rungs.qualifying(G[:1], [None], 2, "rank") == []  # 1 // 2 = 0
    assert rungs.qualifying(G[4:], [None] * 2, 2, "rank") == [1]  # a failed one counts in m,
    assert rungs.qualifying(G[[4, 4]], [None] * 2, 2, "rank") == []  # and never qualifies


def test_dominated_beyond_noise_is_a_paired_one_sided_test_on_every_objective() -> None:
    b = np.array([[1.0, 1.0], [1.2, 0.9], [0.9, 1.1]])
    assert rungs.dominated_beyond_noise(b + 1.0, b)  # worse by 1 on every seed: no spread
    assert not rungs.dominated_beyond_noise(b, b)  # equal: never
    assert not rungs.dominated_beyond_noise(b + np.array([1.0, 0.0]), b)  # one objective tied
    noisy = b + np.array([[0.5, 0.5], [-0.4, 0.6], [0.3, -0.5]])  # worse on average, not beyond noise
    assert not rungs.dominated_beyond_noise(noisy, b)
    assert not rungs.dominated_beyond_noise(b[:1] + 1.0, b[:1])  # one seed: no test


def test_significant_keeps_what_only_noise_separates() -> None:
    """Outside the top share but dominated by no one beyond noise: still promoted."""
    base = np.array([[1.0, 1.0], [1.1, 1.0], [0.9, 1.0]])
    per_seed = [base, base + np.array([[0.2, 0.1], [-0.1, 0.1], [0.1, -0.1]]), base + 1.0]
    G = np.array([p.mean(0) for p in per_seed])
    assert rungs.qualifying(G, per_seed, 3, "rank") == [0]
    assert rungs.qualifying(G, per_seed, 3, "significant") == [0, 1]


@pytest.mark.parametrize("promote", ["asynchronous", "synchronous"])
@pytest.mark.parametrize("kind", list(ARMS))
def test_every_searcher_kind_halves_over_seeds(tmp_path: Path, kind: str, promote: str) -> None:
    spec = _spec(kind, {**FIDELITY, "promote": promote})
    arm = make_arm(spec, 0, _storage(tmp_path / "s.db"))
    _drive(arm, None, "a")
    assert not arm.unfinished() and arm.suggest("after") is None
    trials = arm.study.get_trials(deepcopy=False)
    configs = [t for t in trials if store.counted(t)]
    assert len(configs) == arm.budget and all(rungs.rung_of(t) == 0 for t in configs)
    by_rung = {k: [t for t in trials if rungs.rung_of(t) == k and t.state == S.COMPLETE] for k in range(3)}
    assert [len(t.user_attrs["seeds"]) for k in range(3) for t in by_rung[k]] == \
        [n for k, n in enumerate([1, 2, 4]) for _ in by_rung[k]]
    # every finished rung's final top share has been promoted (asynchronous: perhaps more;
    # synchronous: exactly that share, each rung complete before the next begins)
    for k in (0, 1):
        rows = sorted(by_rung[k], key=lambda t: t.number)
        G = np.array([t.values for t in rows])
        top = {rungs.config_of(rows[i]) for i in rank_order(G)[: len(rows) // 2]}
        above = {rungs.config_of(t) for t in by_rung[k + 1]}
        assert top == above if promote == "synchronous" else top <= above
        if promote == "synchronous":
            assert max(t.number for t in rows) < min(t.number for t in by_rung[k + 1])
    # each promoted configuration's record is a run on all its seeds, exactly
    for t in by_rung[2]:
        lone = _result(t.params, SEEDS)
        assert list(t.values) == [lone["forget_gap"], lone["retain_gap"]]
        assert t.user_attrs["metrics_per_seed"] == lone["metrics_per_seed"]
        assert t.user_attrs["seeds"] == SEEDS and t.user_attrs["unlearn_s"] == 2.0
    assert by_rung[2], "nothing reached the full seed set"
    # Optuna's NSGA-II counts new configurations only in its generations
    assert not any(k.endswith(":generation") for t in trials if rungs.is_promotion(t) for k in t.system_attrs)
    # no configuration twice at a rung
    for k in range(3):
        assert len({rungs.config_of(t) for t in by_rung[k]}) == len(by_rung[k])


@pytest.mark.parametrize("promote", ["asynchronous", "synchronous"])
@pytest.mark.parametrize("kind", list(ARMS))
def test_a_killed_and_resumed_fidelity_arm_makes_the_uninterrupted_claims(tmp_path: Path, kind: str,
                                                                          promote: str) -> None:
    spec = _spec(kind, {**FIDELITY, "promote": promote})
    ref = make_arm(spec, 0, _storage(tmp_path / "ref.db"))
    _drive(ref, None, "ref")
    reference = _claims(ref.study)
    storage = _storage(tmp_path / "killed.db")
    rng = random.Random(f"kill-{kind}-{promote}")
    killed = 0
    # kills at seeded random points, each after 1-4 more runs (synchronous halving promotes
    # only after the last new configuration: more launches reach its promotions)
    for k in range(4 if promote == "asynchronous" else 8):
        arm = make_arm(spec, 0, storage)
        _reap(arm.study)
        _drive(arm, rng.randint(1, 4), f"launch{k}")
        killed += arm.suggest(f"launch{k}-inflight") is not None
    arm = make_arm(spec, 0, storage)
    _reap(arm.study)
    _drive(arm, None, "final")
    assert killed >= 1 and any(rungs.rung_of(t) > 0 and t.user_attrs.get("interrupted")
                               for t in arm.study.get_trials(deepcopy=False)), "no kill hit a promotion"
    assert _claims(arm.study) == reference, f"{kind}: the resumed halving diverged"


def test_a_failed_run_on_more_seeds_stays_failed_and_uses_no_budget(tmp_path: Path) -> None:
    spec = _spec("random")
    arm = make_arm(spec, 0, _storage(tmp_path / "s.db"))
    n = 0
    while (params := arm.suggest(f"t{n}")) is not None:
        run = arm.pending_run(f"t{n}")
        if run[0] > 0 and n % 2:
            arm.complete(f"t{n}", {"error": "RuntimeError: boom", "trial_s": 0.0}, None)
        else:
            arm.complete(f"t{n}", _result(params, run[1]), None)
        n += 1
    trials = arm.study.get_trials(deepcopy=False)
    failed = [t for t in trials if t.state == S.FAIL]
    assert failed and all(rungs.rung_of(t) > 0 for t in failed)
    assert sum(store.counted(t) for t in trials) == arm.budget == 8
    for t in failed:  # a failed configuration is never promoted further
        assert not any(rungs.config_of(u) == rungs.config_of(t) and rungs.rung_of(u) > rungs.rung_of(t)
                       for u in trials)


def test_combined_equals_one_run_on_every_seed() -> None:
    params = {"lr": 0.01, "epochs": 3}
    lower, more = _result(params, SEEDS[:2]), _result(params, SEEDS[2:])
    lower.update(trace={"loss": [1.0]}, conflict_per_seed=[{"grad_cos": 0.5, "grad_conflict": 0.0}] * 2)
    more.update(trace={"loss": [9.0]}, conflict_per_seed=[{"grad_cos": -0.5, "grad_conflict": 1.0}] * 2)
    both = combined(lower, more)
    lone = _result(params, SEEDS)
    for key in ("forget_gap", "retain_gap", "metrics", "metrics_std", "metrics_per_seed", "seeds"):
        assert both[key] == lone[key], key
    assert both["unlearn_s"] == lone["unlearn_s"] and both["trace"] == {"loss": [1.0]}
    assert both["conflict"] == {"grad_cos": 0.0, "grad_conflict": 0.5, "seeds": 4}


@pytest.mark.parametrize(("fidelity", "field", "says"), [
    ({"seeds": [1, 3]}, "arms[0].fidelity.seeds", "end at the study's 4 seeds"),
    ({"seeds": [2, 2, 4]}, "arms[0].fidelity.seeds", "must increase"),
    ({"seeds": [1, 4], "stop": "significant"}, "arms[0].fidelity.stop", "at least 2 seeds"),
    ({"seeds": [4]}, "arms[0].fidelity.seeds", "at least 2"),
    ({"seeds": [1, 4], "eta": 1}, "arms[0].fidelity.eta", "1: must be >= 2"),
])
def test_a_bad_fidelity_is_one_line_naming_the_key(fidelity: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(UserError) as e:
        _spec("random", fidelity=fidelity)
    assert e.value.field == field and says in str(e.value), str(e.value)


def test_a_paired_arm_refuses_fidelity() -> None:
    grid = {"method": "scalarized", "searcher": {"type": "grid"}, "grid": {"w": [0.2, 0.8]}}
    raul = {"method": "raul", "searcher": {"type": "grid"}, "grid": {"w": [0.2, 0.8]},
            "fixed": {"aggregator": "upgrad"}}
    with pytest.raises(UserError) as e:
        parse_spec({"name": "s", "seeds": SEEDS, "arms": [
            {"name": "jd", **raul}, {"name": "fx", **grid, "fidelity": {"seeds": [2, 4]}}],
            "comparisons": [{"jd": "jd", "fixed": "fx", "paired_by": "w"}]})
    assert e.value.field == "arms[1].fidelity" and "paired by w" in str(e.value)


def test_an_arm_without_fidelity_keeps_its_digest() -> None:
    """Studies recorded before ``fidelity`` (or its ``promote``) existed stay resumable: the key
    is left out of an arm's identity when it is not set or at its default (the digests below are
    what paretoul computed before)."""
    from paretoul.study.search.base import _arm_digest

    plain = parse_spec({"name": "s", "arms": [{"method": "ft", "searcher": {"type": "random"}, "budget": 2}]})
    assert _arm_digest(plain, 0) == "44ae6512a3f97158"
    halving = parse_spec({"name": "s", "seeds": [0, 1], "arms": [
        {"method": "ft", "searcher": {"type": "random"}, "budget": 2, "fidelity": {"seeds": [1, 2]}}]})
    assert _arm_digest(halving, 0) != _arm_digest(plain, 0)
    # a halving arm recorded before `promote` existed (asynchronous, its default) keeps its digest
    assert _arm_digest(halving, 0) == "05c2a86c4e2bb7fb"
    sync = parse_spec({"name": "s", "seeds": [0, 1], "arms": [
        {"method": "ft", "searcher": {"type": "random"}, "budget": 2,
         "fidelity": {"seeds": [1, 2], "promote": "synchronous"}}]})
    assert _arm_digest(sync, 0) != _arm_digest(halving, 0)


def test_synchronous_halving_waits_for_its_rung_and_status_says_so(tmp_path: Path) -> None:
    from paretoul.study.storage.status import rung_counts

    spec = _spec("random", {**FIDELITY, "promote": "synchronous"})
    arm = make_arm(spec, 0, _storage(tmp_path / "s.db"))
    fidelity = spec.arms[0].fidelity
    assert _drive(arm, arm.budget - 1, "a") == arm.budget - 1  # one new configuration short
    counts = rung_counts(arm.study.get_trials(deepcopy=False), fidelity, spec, arm.budget)
    assert counts["due"] == 0 and counts["rungs"][0]["stopped"] == 0
    assert counts["rungs"][0]["waiting"] == arm.budget - 1
    assert all(rungs.rung_of(t) == 0 for t in arm.study.get_trials(deepcopy=False))
    _drive(arm, 1, "b")  # the last one: the rung is complete, its top half is due
    counts = rung_counts(arm.study.get_trials(deepcopy=False), fidelity, spec, arm.budget)
    assert counts["due"] == arm.budget // 2 and counts["rungs"][0]["waiting"] == 0
    assert counts["rungs"][0]["stopped"] == arm.budget - arm.budget // 2
    with pytest.raises(ValueError, match="budget"):
        rungs.due(arm.study.get_trials(deepcopy=False), fidelity, ["forget_gap", "retain_gap"],
                  ["minimize", "minimize"])
