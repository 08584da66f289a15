"""Fault injected: the launcher is killed with SIGKILL at random points, three times in a row
(the first launch and two resumes), then resumed to the end.

Must hold afterwards: every arm has exactly its budget of finished trials (no duplicates,
each grid point and pymoo individual once, nothing RUNNING, every FAIL an interrupted
trial that was run again); the database and Ray Tune's experiment state agree; no Ray
process of the killed launchers survives them.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import optuna
import yaml

from tests.study.conftest import (
    SMALL,
    THREE_ARMS,
    THREE_BUDGETS,
    arm_trials,
    check_exact_budgets,
    paretoul_cmd,
    ray_processes,
    tune_trials,
)

# Enough trials that three kills, each after 1-2 more finished trials, leave work to resume.
# Trials of 12-16 epochs (about a second each) so that a kill lands while trials are in flight.
SPEC = {**SMALL, "name": "killme", "arms": [
    {**THREE_ARMS[0], "budget": 10, "fixed": {"epochs": 12}},
    {**THREE_ARMS[1], "fixed": {"epochs": 12}},
    {**THREE_ARMS[2], "searcher": {**THREE_ARMS[2]["searcher"], "generations": 4},
     "fixed": {"epochs": 14}}]}
BUDGETS = {**THREE_BUDGETS, "tpe": 10, "pymoo": 8}
S = optuna.trial.TrialState


def _finished(url: str) -> int:
    try:
        return sum(t.state == S.COMPLETE for ts in arm_trials(url).values() for t in ts)
    except Exception:  # the database is being created
        return 0


def _wait_for_processes_to_go(since: float, timeout: float = 20) -> list[str]:
    deadline = time.time() + timeout
    while (left := ray_processes(since)) and time.time() < deadline:
        time.sleep(0.5)
    return left


def test_sigkill_three_times_then_resume_runs_each_budget_exactly(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    cache, out = tmp_path / "cache", tmp_path / "out"
    url = f"sqlite:///{out / 'study.db'}"
    t0 = time.time()
    kills = []
    for k in range(3):
        args = ("launch", "spec.yaml", "--out", "out") if k == 0 else ("resume", "out")
        before = _finished(url)
        proc = paretoul_cmd("study", *args, "--quiet", cwd=tmp_path, cache=cache)
        # a random point: after 1-2 more finished trials, plus up to half a second
        target = before + rng.randint(1, 2)
        deadline = time.time() + 120
        while _finished(url) < target and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 0.5))
        assert proc.poll() is None, f"kill {k + 1}: the study finished before it could be killed"
        proc.send_signal(signal.SIGKILL)  # the launcher alone: its Ray must not outlive it
        proc.wait(timeout=30)
        kills.append(_finished(url))
        assert not _wait_for_processes_to_go(t0), f"orphans after kill {k + 1}"
    assert kills[-1] < sum(BUDGETS.values()), kills
    print(f"finished trials when killed: {kills} of {sum(BUDGETS.values())}")

    before_final = _finished(url)
    res = paretoul_cmd("study", "resume", "out", "--quiet", cwd=tmp_path, cache=cache)
    _, stderr = res.communicate(timeout=300)
    assert res.returncode == 0, stderr

    trials = check_exact_budgets(url, BUDGETS)
    grid = sorted(t.params["w"] for t in trials["grid"] if t.state == S.COMPLETE)
    assert grid == [0.0, 0.25, 0.5, 0.75, 1.0]  # each grid point exactly once
    pym = sorted(tuple(t.user_attrs["pymoo"]) for t in trials["pymoo"] if t.state == S.COMPLETE)
    assert pym == [(g, i) for g in range(4) for i in range(2)]
    assert sum(t.user_attrs.get("interrupted", False) for ts in trials.values() for t in ts) >= 1

    # The database and Ray Tune's experiment state agree: every trial Tune saw terminate is
    # finished in the database with the same arm and parameters; the last run's record is
    # complete, so there the two sets are equal.
    tune = tune_trials(out)
    db = {t.user_attrs["tune_trial_id"]: (arm, t) for arm, ts in trials.items() for t in ts
          if t.state == S.COMPLETE}
    for tid, info in tune.items():
        if info["status"] == "TERMINATED":
            arm, t = db[tid]
            assert info["config"]["arm"] == arm
            assert all(info["config"]["params"][k] == v for k, v in t.params.items())
    last = max({i["run"] for i in tune.values()}, key=lambda n: (out / "ray" / n).stat().st_mtime)
    final = [i for i in tune.values() if i["run"] == last]
    assert all(i["status"] == "TERMINATED" for i in final)
    assert len(final) == sum(BUDGETS.values()) - before_final  # it ran exactly what was missing
    assert not _wait_for_processes_to_go(t0)
