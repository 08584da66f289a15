"""Studies on a real PostgreSQL server: storage, several launchers, and a database that goes away.

Fault injected / what must hold afterwards:
- two launchers started at the same moment on one study: the union of their trials is
  exactly each arm's budget, none duplicated, none lost, and both did work; the password is
  in no output and no file, and status and front read the study with ``--storage``;
- the server is stopped mid-study and restarted: the launcher waits (one warning line),
  records the trials in flight once it is back, and the study completes exactly;
- the server is stopped for longer than ``storage_retry_s``: the launcher stops with one
  line (exit 1, password masked), and ``study resume`` completes the study exactly.
"""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
import yaml

from tests._postgres import PASSWORD
from tests.study.conftest import (
    SMALL,
    THREE_ARMS,
    THREE_BUDGETS,
    arm_trials,
    check_exact_budgets,
    paretoul_cmd,
    throwaway_postgres,
)

pytestmark = [pytest.mark.ray, pytest.mark.postgres]

SPEC = {**SMALL, "name": "pg", "max_concurrent": 1, "arms": THREE_ARMS}
BUDGETS = THREE_BUDGETS


def _write(tmp_path: Path, **changes) -> None:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump({**SPEC, **changes}, sort_keys=False))


def _finished(url: str) -> int:
    try:
        return sum(t.state == optuna.trial.TrialState.COMPLETE for ts in arm_trials(url).values()
                   for t in ts)
    except Exception:  # not created yet, or the server is down
        return 0


def test_two_launchers_at_once_share_the_work_exactly(tmp_path, postgres_url, cache_dir) -> None:
    """Also the study on PostgreSQL as one user sees it: the storage shown masked, the password
    in no output and no file, ``study status`` and ``front`` with ``--storage``."""
    # one names the database on the command line, the other in its spec (password and all)
    _write(tmp_path)
    (tmp_path / "spec2.yaml").write_text(yaml.safe_dump({**SPEC, "storage": postgres_url}))
    procs = [paretoul_cmd("study", "launch", "spec.yaml", "--out", "out1", "--storage", postgres_url,
                          cwd=tmp_path, cache=cache_dir),
             paretoul_cmd("study", "launch", "spec2.yaml", "--out", "out2", "--quiet", cwd=tmp_path,
                          cache=cache_dir)]
    outputs = [p.communicate(timeout=400) for p in procs]
    for p, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, stderr
        assert PASSWORD not in stdout + stderr
    assert "***" in outputs[0][0]  # the storage is shown, masked
    trials = check_exact_budgets(postgres_url, BUDGETS)
    for out in ("out1", "out2"):  # study.json, spec.yaml, report, Ray's tuner.pkl...
        for f in (tmp_path / out).rglob("*"):
            if f.is_file():
                assert PASSWORD.encode() not in f.read_bytes(), f
    launchers = {t.user_attrs["launcher"] for ts in trials.values() for t in ts
                 if t.state == optuna.trial.TrialState.COMPLETE}
    assert len(launchers) == 2  # both launchers ran trials
    grid = sorted(t.params["w"] for t in trials["grid"] if t.state == optuna.trial.TrialState.COMPLETE)
    assert grid == [0.0, 0.25, 0.5, 0.75, 1.0]
    for args in (["study", "status", "out1"], ["front", "out1"]):
        q = paretoul_cmd(*args, "--storage", postgres_url, cwd=tmp_path, cache=cache_dir)
        out, err = q.communicate(timeout=120)
        assert q.returncode == 0, err
        assert PASSWORD not in out + err


@pytest.fixture
def own_server():
    """A server this test may stop and start (not the shared one)."""
    with throwaway_postgres() as server:
        yield server


def _launch_and_wait(tmp_path: Path, url: str, n: int, cache: Path, **changes):
    """Launch the study on ``url`` and return the launcher once ``n`` trials have finished."""
    _write(tmp_path, **changes)
    proc = paretoul_cmd("study", "launch", "spec.yaml", "--out", "out", "--storage", url, "--quiet",
                        cwd=tmp_path, cache=cache)
    deadline = time.time() + 200
    while _finished(url) < n and time.time() < deadline and proc.poll() is None:
        time.sleep(0.3)
    assert proc.poll() is None, "the study ended before the fault could be injected"
    assert _finished(url) >= n
    return proc


def test_database_restarted_mid_study_the_launcher_waits_and_completes(tmp_path, own_server,
                                                                       cache_dir) -> None:
    url = own_server.url()
    p = _launch_and_wait(tmp_path, url, 3, cache_dir, storage_retry_s=120)
    own_server.stop("immediate")  # connections drop at once, like a crash
    time.sleep(6)  # trials in flight finish meanwhile; their results must not be lost
    own_server.start()
    _, stderr = p.communicate(timeout=300)
    assert p.returncode == 0, stderr
    assert "unreachable" in stderr and "is back" in stderr
    assert PASSWORD not in stderr
    check_exact_budgets(url, BUDGETS)


def test_database_gone_too_long_stops_the_study_and_resume_completes_it(tmp_path, own_server,
                                                                         cache_dir) -> None:
    url = own_server.url()
    p = _launch_and_wait(tmp_path, url, 3, cache_dir, storage_retry_s=3)
    own_server.stop("immediate")
    _, stderr = p.communicate(timeout=120)
    assert p.returncode == 1, stderr
    assert "Traceback" not in stderr
    last = [ln for ln in stderr.splitlines() if ln.strip()][-1]
    assert last.startswith("paretoul: error: study stopped: ") and "resume" in last, stderr
    assert PASSWORD not in stderr
    own_server.start()
    done_before = _finished(url)
    r = paretoul_cmd("study", "resume", "out", "--storage", url, "--quiet", cwd=tmp_path,
                     cache=cache_dir)
    _, stderr = r.communicate(timeout=300)
    assert r.returncode == 0, stderr
    trials = check_exact_budgets(url, BUDGETS)
    assert done_before < sum(BUDGETS.values())
    assert len({t.user_attrs["launcher"] for ts in trials.values() for t in ts}) >= 2
