"""The fault suite: an interrupted and resumed study is the same study (real CLI, real local Ray).

One study with an arm of every searcher kind, and one that halves its configurations over the
seeds (``fidelity``), is interrupted at seeded random points — SIGKILL
of the launcher, SIGTERM, SIGKILL, Ctrl-C (SIGINT to the launcher's whole process group, as
a terminal sends it), SIGKILL — and resumed to the end. One trial at a time, so every sampler
sees the same finished trials as an uninterrupted run. The uninterrupted run's proposal
sequence is not launched again: each arm's searcher is replayed in-process on in-memory SQLite
(:func:`tests.study.conftest.replayed_sequences`), told the outcomes the study recorded.

Must hold: SIGINT/SIGTERM exit 130/143 with one line saying how far the study got, leave
no trial running and write no report; no Ray process of a killed launcher outlives it; each
arm ends with exactly its budget, never runs a parameter set twice (each grid point and pymoo
individual once), and runs the same parameter sets and promotions to more seeds, in the same
order, as the uninterrupted study; the database and Ray Tune's experiment state agree, and
the last resume ran exactly what was missing; resuming the finished study does nothing, starts
no Ray and leaves the study's files as they were.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import sqlite3
import time
from pathlib import Path

import optuna
import pytest
import yaml

from paretoul.study.storage import outcome, store
from tests.study.conftest import (
    SMALL,
    arm_trials,
    check_exact_budgets,
    claim_key,
    claimed,
    paretoul_cmd,
    ray_processes,
    replayed_sequences,
    tune_trials,
)

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ONE = {"fixed": {"epochs": 1}, "search": ["lr"]}
SPEC = {**SMALL, "name": "same", "seeds": [0, 1], "max_concurrent": 1, "arms": [
    {"name": "nsga2", "method": "raul", "searcher": {"type": "optuna", "sampler": "nsga2", "population": 3,
                                                     "seed": 1}, "budget": 6, **ONE},
    {"name": "tpe", "method": "raul", "searcher": {"type": "optuna", "sampler": "tpe", "startup_trials": 2,
                                                   "seed": 2}, "budget": 5, **ONE},
    {"name": "gp", "method": "scalarized", "searcher": {"type": "optuna", "sampler": "gp",
                                                        "startup_trials": 2, "seed": 3}, "budget": 4,
     "fixed": {"epochs": 1}, "search": ["w"]},
    {"name": "random", "method": "ga", "searcher": {"type": "random", "seed": 4}, "budget": 3, **ONE},
    {"name": "grid", "method": "scalarized", "searcher": {"type": "grid"}, "grid": {"w": [0.0, 0.5, 1.0]},
     "fixed": {"epochs": 1}},
    {"name": "pymoo", "method": "ft", "searcher": {"type": "pymoo", "population": 2, "generations": 2,
                                                   "seed": 5}, **ONE},
    # 4 configurations on seed 0; the best half of those finished goes on to seed 1
    {"name": "halving", "method": "ga", "searcher": {"type": "random", "seed": 6}, "budget": 4, **ONE,
     "fidelity": {"seeds": [1, 2], "eta": 2}},
]}
BUDGETS = {"nsga2": 6, "tpe": 5, "gp": 4, "random": 3, "grid": 3, "pymoo": 4, "halving": 4}
TOTAL = sum(BUDGETS.values())
S = optuna.trial.TrialState
LINE = re.compile(r"^paretoul: interrupted; (\d+) of (\d+) trials finished; "
                  r"`paretoul study resume out` continues$")


def _done(url: str) -> int:
    """Finished or failed trials (the study's progress), 0 while the database is being made."""
    try:
        return sum(store.counted(t) and t.state.is_finished() for ts in arm_trials(url).values() for t in ts)
    except Exception:
        return 0


def _states(db: Path) -> dict[str, int]:
    """Trials per state, by one read-only query (milliseconds: a warm trial takes a tenth of a
    second, so the test must look this often to land in one); a busy or missing database
    reads as empty."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)) as c:
            return dict(c.execute("SELECT state, count(*) FROM trials GROUP BY state").fetchall())
    except sqlite3.Error:
        return {}


def _sequences(url: str) -> dict[str, list[str]]:
    """Per arm, its claims that stand (parameter sets and runs on more seeds) in claim order."""
    return {arm: [claim_key(t) for t in ts if claimed(t)] for arm, ts in arm_trials(url).items()}


def _runs(url: str) -> int:
    """Finished or failed runs, runs of configurations on more seeds included."""
    return sum(claimed(t) and t.state.is_finished() for ts in arm_trials(url).values() for t in ts)


def _launch(tmp: Path, cache: Path, *args: str, quiet: bool = True):
    return paretoul_cmd("study", *args, *(["--quiet"] if quiet else []), cwd=tmp, cache=cache,
                        start_new_session=True)


def _wait_for_processes_to_go(since: float, timeout: float = 20) -> list[str]:
    deadline = time.time() + timeout
    while (left := ray_processes(since)) and time.time() < deadline:
        time.sleep(0.5)
    return left


def test_interrupted_study_resumes_into_the_uninterrupted_one(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "out"
    url = f"sqlite:///{out / 'study.db'}"
    rng = random.Random(20261201)
    faults = [signal.SIGKILL, signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGKILL]
    t0 = time.time()
    stopped_by = {}  # launcher pid -> the signal that stopped it
    for k, sig in enumerate(faults):
        args = ("launch", "spec.yaml", "--out", "out") if k == 0 else ("resume", "out")
        before, db = _done(url), out / "study.db"
        proc = _launch(tmp_path, cache_dir, *args)
        stopped_by[proc.pid] = sig
        # a random point: after 1-3 more finished trials, at a random moment of the next one
        target, deadline = _states(db).get("COMPLETE", 0) + rng.randint(1, 3), time.time() + 200
        while _states(db).get("COMPLETE", 0) < target and time.time() < deadline and proc.poll() is None:
            time.sleep(0.005)
        while not _states(db).get("RUNNING") and time.time() < deadline and proc.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.05))
        assert proc.poll() is None, f"fault {k + 1}: the study ended before it could be interrupted"
        if sig == signal.SIGINT:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        else:
            proc.send_signal(sig)  # SIGKILL: the launcher alone, its Ray must not outlive it
        _, err = proc.communicate(timeout=120)
        print(f"fault {k + 1} ({sig.name}): {_done(url)} of {TOTAL} trials done, {before} before it")
        if sig == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
            assert not _wait_for_processes_to_go(t0), f"orphans after fault {k + 1}"
            continue
        assert proc.returncode == 128 + sig, (sig, proc.returncode, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and (m := LINE.match(lines[0])), err
        assert int(m[2]) == TOTAL and int(m[1]) == _done(url) < TOTAL
        trials = arm_trials(url)
        assert not [t for ts in trials.values() for t in ts if t.state in (S.RUNNING, S.WAITING)], \
            "a trial in flight was left running instead of interrupted"
        assert not (out / "report").exists(), "a report was written for a half-done study"

    before_final, runs_before = _done(url), _runs(url)
    final = _launch(tmp_path, cache_dir, "resume", "out", quiet=False)
    stdout, err = final.communicate(timeout=400)
    assert final.returncode == 0, err
    # progress counts the study's configurations, not this launch's: it goes on from where it
    # was (a first line that runs a configuration on more seeds adds none)
    # (runs on more seeds are counted apart: "[ 29/29 +2 on more seeds]")
    lines = [line for line in stdout.splitlines() if line.startswith("[")]
    counters = [re.match(r"\[\s*(\d+)/(\d+)(?: \+(\d+) on more seeds)?\]", line) for line in lines]
    assert all(counters), lines
    counts = [(int(m[1]), int(m[2])) for m in counters]
    first = before_final + (" rung " not in lines[0])
    assert counts[0] == (first, TOTAL), counts
    assert counts[-1] == (TOTAL, TOTAL), counts
    more = [int(m[3] or 0) for m in counters]
    assert more == sorted(more) and more[-1] == sum(" rung " in line for line in lines), more
    assert "in flight" in stdout
    assert "\nchosen (knee): " in stdout  # the launch's last lines: the chosen point
    trials = check_exact_budgets(url, BUDGETS)
    grid = sorted(t.params["w"] for t in trials["grid"] if t.state == S.COMPLETE)
    assert grid == [0.0, 0.5, 1.0]  # each grid point exactly once
    pym = sorted(tuple(t.user_attrs["pymoo"]) for t in trials["pymoo"] if t.state == S.COMPLETE)
    assert pym == [(g, i) for g in range(2) for i in range(2)]
    resumed = _sequences(url)
    promoted = sum(key.startswith("rung 1: ") for key in resumed["halving"])
    assert {arm: len(v) for arm, v in resumed.items()} == {**BUDGETS, "halving": 4 + promoted}
    assert 2 <= promoted <= 4  # at least the best 2 of the 4 configurations
    reference = replayed_sequences(SPEC, url)
    for arm in BUDGETS:
        assert len(set(resumed[arm])) == len(resumed[arm]), f"{arm}: a parameter set ran twice"
        assert resumed[arm] == reference[arm], f"{arm}: the resumed search diverged"
    interrupted = sum(bool(t.user_attrs.get(outcome.INTERRUPTED)) for ts in trials.values() for t in ts)
    assert interrupted >= 3  # the kills landed while trials were in flight
    print(f"interrupted trials rerun: {interrupted}")

    # The database and Ray Tune's experiment state agree: every trial Tune saw terminate is
    # finished in the database with the same arm and parameters — except, in a launch stopped
    # by SIGTERM or Ctrl-C, the one trial in flight (max_concurrent 1), which Tune ends as
    # terminated and the database records as interrupted (run again); the last run's record is
    # complete, so there the two sets are equal. (A launch killed before Tune saved its state
    # has no record.)
    tune = tune_trials(out)
    db = {t.user_attrs["tune_trial_id"]: (arm, t) for arm, ts in trials.items() for t in ts
          if t.state == S.COMPLETE}
    unmatched: dict[str, int] = {}
    for tid, info in tune.items():
        if info["status"] != "TERMINATED":
            continue
        if tid not in db:
            unmatched[info["run"]] = unmatched.get(info["run"], 0) + 1
            continue
        arm, t = db[tid]
        assert info["config"]["arm"] == arm
        assert all(info["config"]["params"][k] == v for k, v in t.params.items())
    for run, n in unmatched.items():
        assert stopped_by.get(int(run.split("-")[2])) in (signal.SIGTERM, signal.SIGINT), (run, n)
        assert n <= SPEC["max_concurrent"], (run, n)
    last = max({i["run"] for i in tune.values()}, key=lambda n: (out / "ray" / n).stat().st_mtime)
    assert int(last.split("-")[2]) == final.pid
    ran_last = [i for i in tune.values() if i["run"] == last]
    assert all(i["status"] == "TERMINATED" for i in ran_last)
    assert len(ran_last) == _runs(url) - runs_before  # it ran exactly what was missing

    # Resuming the finished study: nothing to do, no Ray, nothing rewritten.
    meta, report = out / "study.json", out / "report" / "report.html"
    before = (meta.read_bytes(), report.stat().st_mtime_ns)
    t1 = time.time()
    again = _launch(tmp_path, cache_dir, "resume", "out")
    stdout, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "already complete; nothing to do" in stdout
    assert not ray_processes(t1), "resume of a finished study started Ray"
    assert (meta.read_bytes(), report.stat().st_mtime_ns) == before
    assert not _wait_for_processes_to_go(t0)  # and no Ray process of any launch outlives it
