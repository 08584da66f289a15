"""An interrupted and resumed study is the same study (real CLI, real local Ray).

One study with an arm of every searcher kind runs once uninterrupted and once interrupted
at seeded random points — SIGKILL of the launcher, SIGTERM, SIGKILL, Ctrl-C (SIGINT to the
launcher's whole process group, as a terminal sends it), SIGKILL — and resumed to the end.
One trial at a time, so every sampler sees the same finished trials in both runs.

Must hold: SIGINT/SIGTERM exit 130/143 with one line saying how far the study got, leave
no trial running and write no report; each arm ends with exactly its budget, never runs a
parameter set twice, and runs the same parameter sets, in the same order, as the
uninterrupted study; resuming the finished study does nothing, starts no Ray and leaves
the study's files as they were.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import time
from pathlib import Path

import optuna
import yaml

from paretoul.study import store
from tests.study.conftest import SMALL, arm_trials, check_exact_budgets, paretoul_cmd, ray_processes

ONE = {"fixed": {"epochs": 1}, "search": ["lr"]}
SPEC = {**SMALL, "name": "same", "max_concurrent": 1, "arms": [
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
]}
BUDGETS = {"nsga2": 6, "tpe": 5, "gp": 4, "random": 3, "grid": 3, "pymoo": 4}
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


def _sequences(url: str) -> dict[str, list[str]]:
    """Per arm, the parameter sets of its counted trials in claim order."""
    return {arm: [json.dumps(t.params, sort_keys=True) for t in ts if store.counted(t)]
            for arm, ts in arm_trials(url).items()}


def _launch(tmp: Path, cache: Path, *args: str, quiet: bool = True):
    return paretoul_cmd("study", *args, *(["--quiet"] if quiet else []), cwd=tmp, cache=cache,
                        start_new_session=True)


def test_interrupted_study_resumes_into_the_uninterrupted_one(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    cache = tmp_path / "cache"
    ref = _launch(tmp_path, cache, "launch", "spec.yaml", "--out", "ref")
    _, err = ref.communicate(timeout=400)
    assert ref.returncode == 0, err
    reference = _sequences(f"sqlite:///{tmp_path / 'ref' / 'study.db'}")

    url = f"sqlite:///{tmp_path / 'out' / 'study.db'}"
    rng = random.Random(20261201)
    faults = [signal.SIGKILL, signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGKILL]
    t0 = time.time()
    for k, sig in enumerate(faults):
        args = ("launch", "spec.yaml", "--out", "out") if k == 0 else ("resume", "out")
        before = _done(url)
        proc = _launch(tmp_path, cache, *args)
        target, deadline = before + rng.randint(1, 3), time.time() + 200
        while _done(url) < target and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.3))
        assert proc.poll() is None, f"fault {k + 1}: the study ended before it could be interrupted"
        if sig == signal.SIGINT:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        if sig == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
            continue
        assert proc.returncode == 128 + sig, (sig, proc.returncode, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and (m := LINE.match(lines[0])), err
        assert int(m[2]) == TOTAL and int(m[1]) == _done(url) < TOTAL
        trials = arm_trials(url)
        assert not [t for ts in trials.values() for t in ts if t.state in (S.RUNNING, S.WAITING)], \
            "a trial in flight was left running instead of interrupted"
        assert not (tmp_path / "out" / "report").exists(), "a report was written for a half-done study"

    before_final = _done(url)
    final = _launch(tmp_path, cache, "resume", "out", quiet=False)
    out, err = final.communicate(timeout=400)
    assert final.returncode == 0, err
    # progress counts the study's trials, not this launch's: it goes on from where it was
    counters = [line[: line.index("]") + 1] for line in out.splitlines() if line.startswith("[")]
    assert counters[0] == f"[{before_final + 1:>3}/{TOTAL}]", counters
    assert counters[-1] == f"[{TOTAL:>3}/{TOTAL}]", counters
    assert "in flight" in out
    check_exact_budgets(url, BUDGETS)
    resumed = _sequences(url)
    assert {arm: len(v) for arm, v in resumed.items()} == BUDGETS
    for arm in BUDGETS:
        assert len(set(resumed[arm])) == len(resumed[arm]), f"{arm}: a parameter set ran twice"
        assert resumed[arm] == reference[arm], f"{arm}: the resumed search diverged"
    interrupted = sum(bool(t.user_attrs.get(store.INTERRUPTED))
                      for ts in arm_trials(url).values() for t in ts)
    assert interrupted >= 3  # the kills landed while trials were in flight
    print(f"interrupted trials rerun: {interrupted}")

    # Resuming the finished study: nothing to do, no Ray, nothing rewritten.
    meta, report = tmp_path / "out" / "study.json", tmp_path / "out" / "report" / "report.html"
    before = (meta.read_bytes(), report.stat().st_mtime_ns)
    t1 = time.time()
    again = _launch(tmp_path, cache, "resume", "out")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "already complete; nothing to do" in out
    assert not ray_processes(t1), "resume of a finished study started Ray"
    assert (meta.read_bytes(), report.stat().st_mtime_ns) == before
    deadline = time.time() + 20  # and no Ray process of any launch outlives it
    while (left := ray_processes(t0)) and time.time() < deadline:
        time.sleep(0.5)
    assert not left, left
