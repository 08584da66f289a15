"""A real study on a real local Ray (the shared study, :mod:`tests.shared_study`): every
searcher, a failing arm, a crashing plugin method, the database, status; and determinism."""

from __future__ import annotations

import json

import optuna
import pytest
import torch

from paretoul.cli import main
from paretoul.metrics import METRICS
from paretoul.study import LaunchOptions, launch_summary, study_status
from tests.shared_study import BUDGETS, CONFIGS, FAILED, HALVING, NAME, PROMOTED, SPEC, TRIALS
from tests.study.conftest import arm_trials, small_spec

pytestmark = pytest.mark.ray


@pytest.fixture
def finished(shared_study):
    return shared_study.out, shared_study.summary


def test_every_arm_ran_its_budget(finished) -> None:
    _, summary = finished
    by_arm = {a["arm"]: a for a in summary["arms"]}
    assert by_arm["raul-nsga2"]["finished"] == 4
    assert by_arm["sc-grid"]["finished"] == 3
    assert by_arm["ft-pymoo"]["finished"] == 4
    assert by_arm["ga-random"]["finished"] == 2
    for arm, budget in BUDGETS.items():  # replicates: each search run its own budget
        for run in [arm, f"{arm}@r1"] if arm in ("jd", "fw") else [arm]:
            assert by_arm[run]["finished"] + by_arm[run]["failed"] == budget, run
            assert by_arm[run]["failed"] == FAILED.get(arm, 0), run
    assert summary["complete"]
    assert all(a["running"] == 0 for a in summary["arms"])
    # what the launch prints last: each comparison's verdict and the chosen point (a candidate)
    headline = summary["headline"]
    assert len(headline["verdicts"]) == 3 and headline["rule"] == "knee"
    assert headline["chosen"]["method"] != "retrain" and "#" in headline["chosen"]["trial"]


def test_database_holds_params_objectives_and_every_metric(finished) -> None:
    out, _ = finished
    storage = f"sqlite:///{out / 'study.db'}"
    names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    assert names == ({f"{NAME}:{a['name']}" for a in SPEC["arms"]}
                     | {f"{NAME}:{a['name']}@r1" for a in SPEC["arms"] if a.get("replicates", 1) == 2})
    grid = optuna.load_study(study_name=f"{NAME}:sc-grid", storage=storage)
    assert sorted(t.params["w"] for t in grid.trials) == [0.0, 0.5, 1.0]
    for name in names:  # what optuna-dashboard shows: the objectives' names, no heartbeat left
        study = optuna.load_study(study_name=name, storage=storage)
        assert study.metric_names == ["forget_gap", "retain_gap"]  # the default objectives
        assert not any(k.startswith("alive:") for k in study.user_attrs)
    for t in grid.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE and len(t.values) == 2
        m = t.user_attrs["metrics"]
        assert {"ua", "ra", "ta", "mia", "avg_gap", "forget_gap", "retain_gap", "js_forget"} <= set(m)
        assert t.values == [m["forget_gap"], m["retain_gap"]]
        assert t.user_attrs["seeds"] == [0, 1] and t.user_attrs["trial_s"] > 0
        assert t.user_attrs["node"] == "127.0.0.1"  # the local Ray stays on loopback
        assert t.user_attrs["params_full"]["epochs"] == 1  # fixed parameters are recorded


def test_pymoo_arm_served_generations(finished) -> None:
    out, _ = finished
    study = optuna.load_study(study_name=f"{NAME}:ft-pymoo", storage=f"sqlite:///{out / 'study.db'}")
    tags = sorted(tuple(t.user_attrs["pymoo"]) for t in study.trials)
    assert tags == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(1e-3 <= t.params["lr"] <= 0.1 for t in study.trials)
    assert len({t.params["lr"] for t in study.trials}) == 4


def test_a_diverging_trial_is_recorded_as_failed_and_the_study_goes_on(finished) -> None:
    out, summary = finished
    by_arm = {a["arm"]: a for a in summary["arms"]}
    assert by_arm["ga-diverges"]["failed"] == 2 and by_arm["ga-diverges"]["finished"] == 0
    study = optuna.load_study(study_name=f"{NAME}:ga-diverges", storage=f"sqlite:///{out / 'study.db'}")
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.FAIL
        assert "UnlearningDiverged" in t.user_attrs["error"] and "NaN" in t.user_attrs["error"]


def test_status_command(finished, capsys) -> None:
    out, summary = finished
    assert main(["study", "status", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["arms"] == summary["arms"] and data["complete"]
    assert main(["study", "status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "raul-nsga2" in text and "orchestration efficiency" in text
    assert study_status(out)["runs"][0]["trials"] == TRIALS
    # the halving arm: where its configurations stopped, and the seed-runs that saved
    assert ("ga-halving (fidelity): 1 seed(s): 3 finished, 2 stopped there; 2 seed(s): 1 finished; "
            "0 due for more seeds") in text
    assert data["seed_runs"] == {"run": 2 * (CONFIGS - 3) + 3 + 1, "all_seeds": 2 * CONFIGS}
    assert f"seed-runs: {2 * CONFIGS - 2} ({2 * CONFIGS} with every configuration" in text


def test_a_fidelity_arm_promotes_its_best_configuration_to_more_seeds(finished) -> None:
    """Through Tune: 3 configurations on seed 0, the best third (rank order) run on seed 1 as
    its own Optuna trial, whose figures are the two seeds' (its lower run's seed-0 row kept)."""
    from paretoul.geometry.fronts import rank_order

    out, summary = finished
    arm = next(a for a in summary["arms"] if a["arm"] == HALVING["name"])
    assert arm["finished"] == HALVING["budget"] and arm["due"] == 0
    assert [(r["seeds"], r["finished"], r["stopped"]) for r in arm["rungs"]] == [(1, 3, 2), (2, 1, 0)]
    study = optuna.load_study(study_name=f"{NAME}:{HALVING['name']}", storage=f"sqlite:///{out / 'study.db'}")
    first = [t for t in study.trials if "lower" not in t.user_attrs]
    (more,) = [t for t in study.trials if "lower" in t.user_attrs]
    assert len(first) == 3 and len(study.trials) == 3 + PROMOTED[HALVING["name"]]
    best = first[rank_order([t.values for t in first])[0]]
    assert more.user_attrs["lower"] == more.user_attrs["config"] == best.number
    assert more.user_attrs["rung"] == 1 and more.params == best.params
    assert [t.user_attrs["seeds"] for t in first] == [[0]] * 3 and more.user_attrs["seeds"] == [0, 1]
    rows = more.user_attrs["metrics_per_seed"]
    assert rows[0] == best.user_attrs["metrics_per_seed"][0] and len(rows) == 2
    m = more.user_attrs["metrics"]
    assert more.values == [m["forget_gap"], m["retain_gap"]]
    assert m["forget_gap"] == pytest.approx(sum(r["forget_gap"] for r in rows) / 2, abs=1e-12)


def test_launch_into_an_existing_study_is_refused(finished, capsys) -> None:
    out, _ = finished
    assert main(["study", "launch", str(out / "spec.yaml"), "--out", str(out)]) == 2
    assert "resume" in capsys.readouterr().err


@pytest.mark.slow
def test_same_spec_and_seeds_give_identical_metrics_on_cpu(tmp_path) -> None:
    """Determinism on CPU: the same study launched twice (fresh cache each time, so the
    original and oracle are retrained too) records bit-identical metrics for every trial, and
    the kernel set torch ran them with (another kind of CPU rounds differently)."""
    arms = [
        {"name": "grid", "method": "scalarized", "searcher": {"type": "grid"},
         "grid": {"w": [0.25, 0.75]}, "fixed": {"epochs": 1}},
        {"name": "tpe", "method": "raul", "searcher": {"type": "optuna", "sampler": "tpe", "seed": 3},
         "budget": 3, "fixed": {"epochs": 1}, "search": ["lr"]},
    ]
    spec = small_spec(tmp_path, name="det", seeds=[0, 1], max_concurrent=1, arms=arms)
    timing = {m for m in METRICS.names() if METRICS.get(m).unit == "s"}  # wall time varies
    assert timing == {"rte"}

    def untimed(metrics: dict) -> dict:
        return {k: v for k, v in metrics.items() if k not in timing}

    runs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        launch_summary(spec, LaunchOptions(out=out, cache_dir=tmp_path / f"cache{k}", quiet=True))
        meta = json.loads((out / "study.json").read_text())
        baselines = meta["baselines"]
        kernels = torch.backends.cpu.get_cpu_capability()
        assert meta["machine"]["torch_cpu_kernels"] == kernels and meta["machine"]["cpu"]
        assert meta["runs"][-1]["machine"] == meta["machine"]
        by_arm = arm_trials(f"sqlite:///{out / 'study.db'}")
        assert {t.user_attrs["cpu_kernels"] for ts in by_arm.values() for t in ts} == {kernels}
        trials = {(arm, t.number): (t.params, [untimed(m) for m in t.user_attrs["metrics_per_seed"]])
                  for arm, ts in by_arm.items() for t in ts}
        runs.append(({s: (untimed(r["original"]), untimed(r["oracle"])) for s, r in baselines.items()},
                     trials))
    assert len(runs[0][1]) == 5 and runs[0] == runs[1]
