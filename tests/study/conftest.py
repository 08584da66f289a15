"""A small study spec exercising every searcher, and helpers to run the CLI for real."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SMALL = {
    "name": "small",
    "dataset": "digits",
    "forget": "random:0.1",
    "seeds": [0],
    "arms": [
        {"name": "raul-nsga2", "method": "raul", "searcher": {"type": "optuna", "sampler": "nsga2"},
         "budget": 4, "fixed": {"epochs": 1}, "search": ["lr"]},
        {"name": "sc-grid", "method": "scalarized", "searcher": {"type": "grid"},
         "grid": {"w": [0.0, 0.5, 1.0]}, "fixed": {"epochs": 1}},
        # a continuous space: individuals that decode to a point already run take its result
        # instead of a trial (see test_searcher_resume), which would change the trial count
        {"name": "ft-pymoo", "method": "ft", "searcher": {"type": "pymoo", "population": 2,
                                                           "generations": 2, "seed": 0},
         "fixed": {"epochs": 1}, "search": ["lr"]},
        {"name": "ga-random", "method": "ga", "searcher": {"type": "random", "seed": 1},
         "budget": 2, "fixed": {"epochs": 1}},
        # lr 1e30 makes the loss NaN: every trial of this arm must be recorded as failed
        {"name": "ga-diverges", "method": "ga", "searcher": {"type": "grid"},
         "grid": {"lr": [1e30, 1e31]}, "fixed": {"epochs": 2}},
    ],
}


# Three arms of every resumable kind (an Optuna sampler, a grid, pymoo generations): the
# crash, resume and several-launcher tests check each arm ends with exactly its budget.
THREE_ARMS = [
    {"name": "tpe", "method": "raul", "searcher": {"type": "optuna", "sampler": "tpe"},
     "budget": 5, "fixed": {"epochs": 2}, "search": ["lr"]},
    {"name": "grid", "method": "scalarized", "searcher": {"type": "grid"},
     "grid": {"w": [0.0, 0.25, 0.5, 0.75, 1.0]}, "fixed": {"epochs": 2}},
    {"name": "pymoo", "method": "ft", "searcher": {"type": "pymoo", "population": 2,
                                                    "generations": 3, "seed": 0},
     "fixed": {"epochs": 2}, "search": ["lr"]},
]
THREE_BUDGETS = {"tpe": 5, "grid": 5, "pymoo": 6}


def small_spec(tmp_path: Path, **changes) -> Path:
    spec = {**SMALL, **changes}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def paretoul_cmd(*args: str, cwd: Path, cache: Path, **popen) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("paretoul")
    env = {**os.environ, "PARETOUL_CACHE": str(cache)}
    return subprocess.Popen([str(exe), *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return small_spec(tmp_path)


@contextlib.contextmanager
def throwaway_postgres():
    """Start a PostgreSQL server of our own (stopped and deleted afterwards). Without
    PostgreSQL the test skips — except where ``PARETOUL_REQUIRE_POSTGRES=1`` (CI): a failure."""
    import tempfile

    from tests._postgres import PgServer, pg_bin

    if pg_bin() is None:
        if os.environ.get("PARETOUL_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required here (PARETOUL_REQUIRE_POSTGRES=1) but not installed")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = PgServer(Path(tempfile.mkdtemp(prefix="paretoul-pg-")))
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):  # a test may have left it stopped
            server.stop("immediate")
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server URL: the one ``.ci/run`` started (``PARETOUL_TEST_POSTGRES``), else
    one started here."""
    url = os.environ.get("PARETOUL_TEST_POSTGRES")
    if url:
        yield url
        return
    with throwaway_postgres() as server:
        yield server.url()


@pytest.fixture
def postgres_url(postgres_server, request) -> str:
    """A fresh, empty database on the test server."""
    from tests._postgres import create_database

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    return create_database(postgres_server, name)


def arm_trials(url: str) -> dict[str, list]:
    """``{arm: [FrozenTrial, ...]}`` of every arm study in the database at ``url``."""
    import optuna

    out = {}
    for s in optuna.get_all_study_summaries(url):
        study = optuna.load_study(study_name=s.study_name, storage=url)
        out[s.study_name.split(":", 1)[1]] = study.get_trials(deepcopy=False)
    return out


def check_exact_budgets(url: str, budgets: dict[str, int]) -> dict[str, list]:
    """Every arm has exactly its budget of finished configurations (runs of one on more seeds,
    ``fidelity``, are not counted), nothing RUNNING or lost, each grid
    point and pymoo individual once, no parameter set twice, and every FAIL is an
    interrupted (rerun) trial or a repeated proposal withdrawn unrun."""
    import optuna

    from paretoul.study.storage.store import counted

    S = optuna.trial.TrialState
    trials = arm_trials(url)
    for arm, budget in budgets.items():
        complete = [t for t in trials[arm] if t.state == S.COMPLETE and counted(t)]
        assert len(complete) == budget, (arm, len(complete), budget)
        assert not [t for t in trials[arm] if t.state in (S.RUNNING, S.WAITING)], arm
        assert all(t.user_attrs.get("interrupted") or t.user_attrs.get("retired")
                   for t in trials[arm] if t.state == S.FAIL), arm
        assert len({t.user_attrs["tune_trial_id"] for t in complete}) == budget, arm
        if "pymoo" in (complete[0].user_attrs if complete else {}):
            cells = sorted(tuple(t.user_attrs["pymoo"]) for t in complete)
            assert len(set(cells)) == budget, (arm, cells)
        keys = [tuple(sorted(t.params.items())) for t in trials[arm] if counted(t)]
        assert len(set(keys)) == len(keys), (arm, "a parameter set ran twice")
    return trials


def tune_trials(study_dir: Path) -> dict[str, dict]:
    """Ray Tune's own record of every trial of every run of a study (its experiment state):
    ``{tune trial id: {"status", "num_failures", "config", "run"}}``."""
    import json

    out = {}
    for run in sorted((study_dir / "ray").glob("run-*")):
        states = sorted(run.glob("experiment_state-*.json"))
        if not states:
            continue  # killed before Tune saved anything
        for meta, runtime in json.loads(states[-1].read_text())["trial_data"]:
            m, r = json.loads(meta), json.loads(runtime)
            out[m["trial_id"]] = {"status": m["status"], "num_failures": r["num_failures"],
                                  "config": m["config"], "run": run.name}
    return out


def ray_processes(since: float) -> list[str]:
    """Live (non-zombie) Ray processes started after ``since`` (a ``time.time()``)."""
    from paretoul.execution._reaper import _procs

    boot = float(Path("/proc/stat").read_text().split("btime ")[1].split()[0])
    hz = os.sysconf("SC_CLK_TCK")
    return [f"{pid} {cmd[:80]}" for pid, (_, ticks, cmd) in _procs().items()
            if boot + int(ticks) / hz >= since - 1
            and any(m in cmd for m in ("ray::", "/raylet ", "/gcs_server ", "site-packages/ray/"))]


def memory_storage():
    """An in-memory SQLite results database (one connection, so every call sees its tables)."""
    import optuna
    from sqlalchemy.pool import StaticPool

    return optuna.storages.RDBStorage("sqlite:///:memory:", engine_kwargs={
        "poolclass": StaticPool, "connect_args": {"check_same_thread": False}})


def claimed(t) -> bool:
    """A claim that stands: a configuration that uses budget (:func:`store.counted`) or a run of
    one on more seeds (``fidelity``) that finished, failed or runs — not one interrupted (run
    again) or withdrawn."""
    from paretoul.study.storage import rungs, store
    from paretoul.study.storage.outcome import outcome_of

    return store.counted(t) or (rungs.is_promotion(t) and outcome_of(t).counted)


def claim_key(t) -> str:
    """A claim's parameters (and, for a run on more seeds, its rung)."""
    from paretoul.study.storage import rungs

    params = json.dumps(t.params, sort_keys=True)
    return f"rung {rungs.rung_of(t)}: {params}" if rungs.is_promotion(t) else params


def _new_rows(real, by_number: dict, objectives: list[str]) -> dict:
    """What the worker of ``real`` reported: the objectives and the per-seed rows of the seeds
    it ran (a run on more seeds: those past its lower run's, which the searcher merges back)."""
    seeds, rows = real.user_attrs.get("seeds", []), real.user_attrs.get("metrics_per_seed", [])
    lower = real.user_attrs.get("lower")
    n = len(by_number[lower].user_attrs.get("seeds", [])) if lower is not None else 0
    return {**dict(zip(objectives, real.values, strict=True)), "seeds": seeds[n:],
            "metrics_per_seed": rows[n:]}


def replayed_sequences(spec: dict, url: str) -> dict[str, list[str]]:
    """Per arm, the claims (:func:`claim_key`: parameter sets and runs on more seeds) an
    uninterrupted run of ``spec`` claims, in order, at
    ``max_concurrent: 1``: each arm's searcher driven in-process (ask/tell on an in-memory
    database, no Ray, no training), told for each proposal the outcome the study at ``url``
    recorded for the same parameters (training is deterministic on the CPU). A proposal the
    study never ran ends that arm's replay: the sequences then differ where the search did."""
    import optuna

    from paretoul.study.search import make_arm
    from paretoul.study.spec import parse_spec

    S = optuna.trial.TrialState
    trials = arm_trials(url)
    ran = {arm: {claim_key(t): t for t in ts if claimed(t) and t.state.is_finished()}
           for arm, ts in trials.items()}
    numbers = {arm: {t.number: t for t in ts} for arm, ts in trials.items()}
    parsed = parse_spec(spec)
    out: dict[str, list[str]] = {}
    for i, arm_spec in enumerate(parsed.arms):
        arm = make_arm(parsed, i, memory_storage())
        seq = out.setdefault(arm_spec.name, [])
        while arm.suggest(tid := f"replay-{len(seq)}") is not None:
            (trial,) = [t for t in arm.study.get_trials(deepcopy=False) if t.state == S.RUNNING]
            seq.append(key := claim_key(trial))
            real = ran[arm_spec.name].get(key)
            if real is None:
                break
            if real.state == S.COMPLETE:
                arm.complete(tid, _new_rows(real, numbers[arm_spec.name], arm.objectives), None)
            else:
                arm.complete(tid, None, real.user_attrs.get("error", "failed"))
    return out
