"""The searcher contract, as Optuna's own sampler tests check every sampler: each arm searcher
kind (Optuna TPE, NSGA-II and GP, random, grid, pymoo NSGA-II) is driven through ask/tell with
an in-memory SQLite database, no Ray and no training (a synthetic objective of the parameters).

Every kind must: claim exactly its budget and then stop; propose only parameters inside its
declared space (with the arm's fixed parameters as given); give the same sequence for the same
seed and (but grid) another for another seed; and record a failed trial as failed, counted in
the budget, with its reason, while the search goes on (pymoo ranks it as the worst possible
point). Resume after a restart is :mod:`tests.study.test_searcher_resume`'s contract.
"""

from __future__ import annotations

import functools
from typing import Any

import optuna
import pytest

from paretoul.study.search import ArmSearcher, PymooArm, make_arm
from paretoul.study.search.pymoo_arm import FAIL_PENALTY
from paretoul.study.storage import store
from tests.study.conftest import memory_storage
from tests.study.test_searcher_resume import ARMS, _result, _spec

S = optuna.trial.TrialState


def _arm(kind: str, **changes: Any) -> ArmSearcher:
    return make_arm(_spec(kind, **changes), 0, memory_storage())


def _run(arm: ArmSearcher, fail_every: int = 0) -> list[dict[str, Any]]:
    """Every proposal until the searcher stops; with ``fail_every`` k, every k-th one fails."""
    seen: list[dict[str, Any]] = []
    while (params := arm.suggest(f"t{len(seen)}")) is not None:
        failed = fail_every and len(seen) % fail_every == fail_every - 1
        arm.complete(f"t{len(seen)}", None if failed else _result(params),
                     "RuntimeError: boom" if failed else None)
        seen.append(params)
        assert len(seen) <= 100, "the searcher never stops"
    return seen


@functools.cache
def _base(kind: str) -> tuple[ArmSearcher, list[dict[str, Any]]]:
    """Each kind's search with its own seed, run to the end once for the tests that only read it
    (the GP kind's is most of this suite's time)."""
    arm = _arm(kind)
    return arm, _run(arm)


@pytest.mark.parametrize("kind", list(ARMS))
def test_exact_budget_then_it_stops(kind: str) -> None:
    arm, seen = _base(kind)
    assert len(seen) == arm.used() == arm.budget > 0
    if kind != "pymoo":  # pymoo's repeated points take the earlier result, no trial
        assert arm.budget == ARMS[kind].get("budget", len(ARMS[kind].get("grid", {}).get("w", [])))
    assert arm.suggest("one-more") is None and not arm.unfinished()
    # every counted trial finished (a retired re-proposal of a point already run is not counted)
    assert all(t.state == S.COMPLETE for t in arm.study.get_trials(deepcopy=False) if store.counted(t))


@pytest.mark.parametrize("kind", list(ARMS))
def test_parameters_stay_inside_the_declared_space(kind: str) -> None:
    arm, seen = _base(kind)
    for params in seen:
        assert set(arm.space) <= set(params)
        for name, dim in arm.space.items():
            assert dim.contains(params[name]), f"{name}={params[name]!r} outside {dim}"
        for name, value in arm.fixed.items():
            assert params.get(name, value) == value


@pytest.mark.parametrize("kind", list(ARMS))
def test_the_same_seed_gives_the_same_sequence_and_another_seed_another(kind: str) -> None:
    first, again = _base(kind)[1], _run(_arm(kind))
    assert first == again
    if kind != "grid":  # a grid is the same for every seed
        searcher = {**ARMS[kind]["searcher"], "seed": ARMS[kind]["searcher"].get("seed", 0) + 100}
        assert _run(_arm(kind, searcher=searcher)) != first


@pytest.mark.parametrize("kind", list(ARMS))
def test_failed_trials_are_recorded_counted_and_the_search_goes_on(kind: str) -> None:
    arm = _arm(kind)
    seen = _run(arm, fail_every=3)
    trials = [t for t in arm.study.get_trials(deepcopy=False) if store.counted(t)]
    failed = [t for t in trials if t.state == S.FAIL]
    assert len(failed) == len(seen) // 3 > 0
    assert all(t.user_attrs["error"] == "RuntimeError: boom" for t in failed)
    assert arm.used() == len(seen) == arm.budget
    assert sum(t.state == S.COMPLETE for t in trials) == len(seen) - len(failed)
    if isinstance(arm, PymooArm):  # a failure is the worst point in every objective
        row = arm._objective_row(failed[0])
        assert [abs(v) for v in row] == [FAIL_PENALTY] * len(row)
