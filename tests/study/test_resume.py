"""Kill the launcher with SIGKILL mid-study, resume, and check budgets are honoured exactly."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import optuna
import yaml

from tests.study.conftest import SMALL, paretoul_cmd

SPEC = {
    **SMALL,
    "name": "killme",
    "arms": [
        {"name": "raul", "method": "raul", "searcher": {"type": "optuna", "sampler": "tpe"},
         "budget": 6, "fixed": {"epochs": 2}, "search": ["lr"]},
        {"name": "grid", "method": "scalarized", "searcher": {"type": "grid"},
         "grid": {"w": [0.0, 0.25, 0.5, 0.75, 1.0]}, "fixed": {"epochs": 2}},
        {"name": "pymoo", "method": "ft", "searcher": {"type": "pymoo", "population": 2,
                                                        "generations": 3, "seed": 0},
         "space": {"epochs": {"low": 2, "high": 4}}},
    ],
}
BUDGETS = {"raul": 6, "grid": 5, "pymoo": 6}


def _trials(db):
    out = {}
    for s in optuna.get_all_study_summaries(f"sqlite:///{db}"):
        study = optuna.load_study(study_name=s.study_name, storage=f"sqlite:///{db}")
        out[s.study_name.split(":")[1]] = study.get_trials(deepcopy=False)
    return out


def _finished(db) -> int:
    if not db.exists():
        return 0
    try:
        return sum(t.state == optuna.trial.TrialState.COMPLETE for ts in _trials(db).values() for t in ts)
    except Exception:  # the database is being created
        return 0


def test_sigkill_then_resume_runs_each_budget_exactly(tmp_path) -> None:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    cache, out = tmp_path / "cache", tmp_path / "out"
    db = out / "study.db"
    proc = paretoul_cmd("study", "launch", "spec.yaml", "--out", "out", "--quiet", cwd=tmp_path,
                        cache=cache, start_new_session=True)
    deadline = time.time() + 120
    while _finished(db) < 4 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the study finished before it could be interrupted"
    pgid = os.getpgid(proc.pid)
    os.killpg(pgid, signal.SIGKILL)  # the launcher and the Ray it started, at once
    proc.wait(timeout=30)
    done_before = _finished(db)
    assert 4 <= done_before < sum(BUDGETS.values())

    res = paretoul_cmd("study", "resume", "out", "--quiet", cwd=tmp_path, cache=cache)
    _, stderr = res.communicate(timeout=300)
    assert res.returncode == 0, stderr

    trials = _trials(db)
    for arm, budget in BUDGETS.items():
        complete = [t for t in trials[arm] if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(complete) == budget, arm
        assert len({t.user_attrs["tune_trial_id"] for t in complete}) == budget  # no duplicates
        assert not [t for t in trials[arm] if t.state == optuna.trial.TrialState.RUNNING]
        stray = [t for t in trials[arm] if t.state == optuna.trial.TrialState.FAIL]
        assert all(t.user_attrs.get("interrupted") for t in stray)  # only interrupted, never lost
    grid = sorted(t.params["w"] for t in trials["grid"] if t.state == optuna.trial.TrialState.COMPLETE)
    assert grid == [0.0, 0.25, 0.5, 0.75, 1.0]  # each grid point exactly once
    pym = sorted(tuple(t.user_attrs["pymoo"]) for t in trials["pymoo"]
                 if t.state == optuna.trial.TrialState.COMPLETE)
    assert pym == [(g, i) for g in range(3) for i in range(2)]
    # nothing of the killed launcher's process group survives (zombies awaiting a reaper are
    # dead already; a container's init may take its time to reap them)
    deadline = time.time() + 15
    while _live_members(pgid) and time.time() < deadline:
        time.sleep(0.5)
    assert not _live_members(pgid)


def _live_members(pgid: int) -> list[int]:
    """PIDs in process group ``pgid`` that are not zombies (from /proc)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            live.append(int(stat.parent.name))
    return live
