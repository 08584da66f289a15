"""Resume continues the search (no Ray): every arm kind is driven through ask/tell against a
real SQLite results database, one trial at a time, with a synthetic objective of the
parameters; the driver is "killed" at seeded random points (its searcher dropped with a
trial in flight, which the next launcher reaps as interrupted) and a new searcher takes over.

Must hold: the arm ends with exactly its budget, never the same parameter set twice, and
the same parameter sets, in the same slots, as the same arm run without interruption.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from paretoul.study.search import ArmSearcher, make_arm
from paretoul.study.search.points import param_key, untried_point
from paretoul.study.spec import parse_spec
from paretoul.study.storage import outcome, store

S = optuna.trial.TrialState

ARMS: dict[str, dict[str, Any]] = {
    "nsga2": {"method": "raul", "searcher": {"type": "optuna", "sampler": "nsga2", "population": 4,
                                             "seed": 3}, "budget": 14, "search": ["lr", "temperature"]},
    "tpe": {"method": "raul", "searcher": {"type": "optuna", "sampler": "tpe", "startup_trials": 4,
                                           "seed": 5}, "budget": 10, "search": ["lr", "epochs"]},
    "gp": {"method": "raul", "searcher": {"type": "optuna", "sampler": "gp", "startup_trials": 3,
                                          "seed": 7}, "budget": 7, "search": ["lr"]},
    "random": {"method": "ga", "searcher": {"type": "random", "seed": 11}, "budget": 8},
    "grid": {"method": "scalarized", "searcher": {"type": "grid"},
             "grid": {"w": [0.0, 0.25, 0.5, 0.75, 1.0]}},
    "pymoo": {"method": "ft", "searcher": {"type": "pymoo", "population": 3, "generations": 4, "seed": 2},
              "search": ["lr", "epochs"]},
}


def _spec(kind: str, **arm_changes: Any):
    arm = {"name": kind, **ARMS[kind], **arm_changes}
    return parse_spec({"name": "s", "dataset": "digits", "forget": "random:0.1", "arms": [arm]})


def _objectives(params: dict[str, Any]) -> list[float]:
    """A deterministic two-objective trade-off of the parameters (no training)."""
    x = sum(math.log(float(v)) if isinstance(v, float) and v > 0 else float(v) * 0.1
            for k, v in sorted(params.items()) if isinstance(v, int | float))
    return [abs(math.sin(3 * x)) + 0.1 * x * x, abs(math.cos(2 * x))]


def _result(params: dict[str, Any]) -> dict[str, Any]:
    f, r = _objectives(params)
    return {"forget_gap": f, "retain_gap": r, "trial_s": 0.0}


def _storage(path: Path) -> optuna.storages.RDBStorage:
    return store.open_storage(f"sqlite:///{path}")


def _drive(arm: ArmSearcher, steps: int | None, tag: str) -> int:
    """Claim and finish trials one at a time (at most ``steps``); returns how many finished."""
    n = 0
    while steps is None or n < steps:
        params = arm.suggest(f"{tag}-{n}")
        if params is None:
            break
        arm.complete(f"{tag}-{n}", _result(params), None)
        n += 1
    return n


def _kill(arm: ArmSearcher, tag: str) -> bool:
    """The launcher dies with one trial claimed and running (if any was left to claim)."""
    return arm.suggest(f"{tag}-inflight") is not None


def _reap(study: optuna.Study) -> None:
    """What the next launcher does first: the dead launcher's trials become interrupted."""
    for t in study.get_trials(deepcopy=False, states=(S.RUNNING, S.WAITING)):
        store.mark_interrupted(study, t)


def _slots(study: optuna.Study) -> list[tuple[str, str]]:
    """The counted trials in claim order: (parameter key, state)."""
    return [(param_key(t.params), t.state.name) for t in study.get_trials(deepcopy=False) if store.counted(t)]


def _uninterrupted(tmp_path: Path, spec) -> list[tuple[str, str]]:
    storage = _storage(tmp_path / "ref.db")
    arm = make_arm(spec, 0, storage)
    _drive(arm, None, "ref")
    return _slots(arm.study)


@pytest.mark.parametrize("kind", list(ARMS))
def test_killed_and_resumed_arm_explores_what_an_uninterrupted_one_does(tmp_path: Path, kind: str) -> None:
    spec = _spec(kind)
    reference = _uninterrupted(tmp_path, spec)
    storage = _storage(tmp_path / "killed.db")
    rng = random.Random(f"kill-{kind}")
    in_flight = 0
    for k in range(3):  # three kills at seeded random points, each after 1-3 more trials
        arm = make_arm(spec, 0, storage)
        _reap(arm.study)
        _drive(arm, rng.randint(1, 3), f"launch{k}")
        in_flight += _kill(arm, f"launch{k}")
    arm = make_arm(spec, 0, storage)
    _reap(arm.study)
    _drive(arm, None, "final")

    trials = arm.study.get_trials(deepcopy=False)
    slots = _slots(arm.study)
    assert len(slots) == arm.budget and all(state == "COMPLETE" for _, state in slots)
    assert len({key for key, _ in slots}) == len(slots), "a parameter set was run twice"
    assert sum(bool(t.user_attrs.get(outcome.INTERRUPTED)) for t in trials) == in_flight >= 1
    assert slots == reference, f"{kind}: the resumed search diverged from the uninterrupted one"


def test_random_search_with_trials_in_flight_resumes_into_the_same_points(tmp_path: Path) -> None:
    """Several trials in flight: the interrupted one's slot is claimed again, with its seed."""
    spec = _spec("random")
    reference = sorted(key for key, _ in _uninterrupted(tmp_path, spec))
    storage = _storage(tmp_path / "s.db")
    arm = make_arm(spec, 0, storage)
    for k in range(3):
        arm.suggest(f"a{k}")
    arm.complete("a0", _result(arm._pending["a0"].params), None)
    arm.complete("a2", _result(arm._pending["a2"].params), None)  # a1 is in flight: killed
    again = make_arm(spec, 0, storage)
    _reap(again.study)
    _drive(again, None, "b")
    assert sorted(key for key, _ in _slots(again.study)) == reference


def test_a_fresh_launcher_does_not_replay_the_first_proposals(tmp_path: Path) -> None:
    """The bug this guards against: a seeded sampler restarted at every launch re-proposed
    its first points, so the budget was spent twice on the same parameters."""
    spec = _spec("random")
    storage = _storage(tmp_path / "s.db")
    first = make_arm(spec, 0, storage)
    _drive(first, 3, "a")
    second = make_arm(spec, 0, storage)  # a new launcher on the same study
    _drive(second, None, "b")
    keys = [key for key, _ in _slots(second.study)]
    assert len(keys) == 8 and len(set(keys)) == 8


@pytest.mark.parametrize("kind", ["nsga2", "tpe", "random"])
def test_a_finite_space_is_never_sampled_twice_and_ends_when_exhausted(tmp_path: Path, kind: str) -> None:
    # epochs alone, 1..4: four distinct points for a budget of 10
    spec = _spec(kind, search=["epochs"], space={"epochs": {"low": 1, "high": 4}}, budget=10,
                 **({"searcher": {**ARMS[kind]["searcher"], "population": 2}} if kind == "nsga2" else {}))
    storage = _storage(tmp_path / "s.db")
    arm = make_arm(spec, 0, storage)
    assert _drive(arm, None, "x") == 4
    slots = _slots(arm.study)
    assert sorted(int(key.split(": ")[1].rstrip("}")) for key, _ in slots) == [1, 2, 3, 4]
    assert arm.study.user_attrs[store.SEARCH_DONE] == 4
    # a new launcher knows the arm is done (the database says so), and so does the status
    again = make_arm(spec, 0, storage)
    assert again.budget == 4 and again.suggest("y") is None and not again.unfinished()
    retired = [t for t in arm.study.get_trials(deepcopy=False) if t.user_attrs.get(outcome.RETIRED)]
    assert all(t.state == S.FAIL for t in retired)
    # the status says why the arm ended short, and how many proposals were drawn anew
    from rich.console import Console

    from paretoul.cli.study import render_status
    from paretoul.study.storage.status import study_status

    console = Console(width=80, record=True)
    render_status(study_status(tmp_path, f"sqlite:///{tmp_path / 's.db'}", spec), console)
    text = console.export_text()
    method = spec.arms[0].method
    assert f"{kind} " in text and f" {method} " in text and " 4/4* " in text  # whole names at 80 cols
    assert "…" not in text
    assert "ends after 4 of its 10 trials" in " ".join(text.split())
    if retired:
        assert f"{len(retired)} proposal(s) repeated a parameter set" in " ".join(text.split())


def test_pymoo_individuals_that_repeat_a_point_take_its_result(tmp_path: Path) -> None:
    # epochs 1..2 only: pymoo's real-valued individuals decode to two points
    spec = _spec("pymoo", search=["epochs"], space={"epochs": {"low": 1, "high": 2}})
    storage = _storage(tmp_path / "s.db")
    arm = make_arm(spec, 0, storage)
    n = _drive(arm, None, "p")
    keys = [key for key, _ in _slots(arm.study)]
    assert n == len(keys) == len(set(keys)) <= 2
    assert arm._gen == 4 and arm._pop is None  # every generation was told back
    assert arm.study.user_attrs[store.SEARCH_DONE] == n and not arm.unfinished()


def test_untried_point_enumerates_finite_spaces_and_draws_in_continuous_ones() -> None:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    rng = np.random.default_rng(0)
    dists = {"a": IntDistribution(1, 3), "b": CategoricalDistribution(["x", "y"])}
    taken = {param_key({"a": a, "b": b}) for a in (1, 2, 3) for b in ("x", "y") if (a, b) != (2, "y")}
    assert untried_point(dists, taken, rng) == {"a": 2, "b": "y"}
    taken.add(param_key({"a": 2, "b": "y"}))
    assert untried_point(dists, taken, rng) is None
    p = untried_point({"lr": FloatDistribution(1e-4, 1e-1, log=True)}, set(), rng)
    assert p is not None and 1e-4 <= p["lr"] <= 1e-1
