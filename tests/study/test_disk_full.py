"""Fault injected: the disk holding the study directory (results database, Ray's files)
fills up mid-study — a small tmpfs mount, then filler files take the space left, and keep
taking whatever is freed until the launcher has stopped.

Must hold afterwards: the launcher stops with one clear line (exit 1, no traceback), the
database stays readable (``study status``), and once space is freed ``study resume``
completes every arm's budget exactly.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import optuna
import pytest
import yaml

from tests.study.conftest import SMALL, arm_trials, check_exact_budgets, paretoul_cmd

pytestmark = pytest.mark.ray

SPEC = {**SMALL, "name": "diskfull", "storage_retry_s": 5, "max_concurrent": 1,
        "arms": [{"name": "grid", "method": "scalarized", "searcher": {"type": "grid"},
                  "grid": {"w": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]}, "fixed": {"epochs": 3}}]}


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 64 MiB tmpfs mounted in ``tmp_path`` (root only: skipped elsewhere)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _keep_full(disk: Path, stop: threading.Event) -> None:
    """Fill the disk, and keep it full: whatever space the launcher frees (Ray replaces its
    files) is taken again at once, like another process hogging the disk."""
    k = 0
    while not stop.is_set():
        k += 1
        try:
            with open(disk / f"filler-{k}", "wb", buffering=0) as fh:
                while True:
                    fh.write(b"\0" * 4096)
        except OSError:
            pass
        stop.wait(0.02)


def test_disk_full_stops_cleanly_and_resume_completes(tmp_path: Path, small_disk: Path,
                                                      cache_dir: Path) -> None:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    out = small_disk / "out"
    url = f"sqlite:///{out / 'study.db'}"
    cache = cache_dir
    p = paretoul_cmd("study", "launch", "spec.yaml", "--out", str(out), "--quiet", cwd=tmp_path, cache=cache)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        try:
            if sum(t.state == optuna.trial.TrialState.COMPLETE for t in arm_trials(url).get("grid", [])) >= 2:
                break
        except Exception:
            pass
        time.sleep(0.2)
    assert p.poll() is None, p.communicate()[1]
    stop = threading.Event()
    hog = threading.Thread(target=_keep_full, args=(small_disk, stop), daemon=True)
    hog.start()
    try:
        _, stderr = p.communicate(timeout=180)
    finally:
        stop.set()
        hog.join()
    assert p.returncode == 1, stderr
    assert "Traceback" not in stderr, stderr
    last = [ln for ln in stderr.splitlines() if ln.strip()][-1]
    assert last.startswith("paretoul: error: study stopped: ") and "full" in last, stderr
    assert "resume" in last

    s = paretoul_cmd("study", "status", str(out), "--json", cwd=tmp_path, cache=cache)
    status, err = s.communicate(timeout=60)
    assert s.returncode == 0, err  # the database stays readable on the full disk
    assert "grid" in status

    for filler in small_disk.glob("filler-*"):
        filler.unlink()
    r = paretoul_cmd("study", "resume", str(out), "--quiet", cwd=tmp_path, cache=cache)
    _, stderr = r.communicate(timeout=300)
    assert r.returncode == 0, stderr
    check_exact_budgets(url, {"grid": 6})
