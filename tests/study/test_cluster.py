"""A real two-host Ray cluster on this machine: two network namespaces joined by a veth pair.

Host A (10.231.0.1) runs the Ray head and the launcher, host B (10.231.0.2) a Ray worker
node; each offers one CPU. The study must run trials on both hosts. Everything is torn
down even when the test fails. Needs root (CI runs as root);
recipe: tests/README.md#dependency-facts-the-code-relies-on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

from tests.study.conftest import SMALL

pytestmark = [pytest.mark.ray,
              pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                 reason="network namespaces need root and iproute2")]

BIN = Path(sys.executable).parent
HEAD, WORKER = "10.231.0.1", "10.231.0.2"
PORT = 6390


def _sh(*cmd: str, check: bool = True, timeout: float = 120, env: dict | None = None):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, timeout=timeout,
                          env=env)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    env.update(RAY_AUTH_MODE="disabled", PATH=f"{BIN}:{env.get('PATH', '')}")
    return env


@pytest.fixture
def two_hosts():
    tag = str(os.getpid() % 10000)
    a, b = f"pua{tag}", f"pub{tag}"
    va, vb = f"vua{tag}", f"vub{tag}"
    env = _env()
    try:
        _sh("ip", "netns", "add", a)
        _sh("ip", "netns", "add", b)
        _sh("ip", "link", "add", va, "type", "veth", "peer", "name", vb)
        _sh("ip", "link", "set", va, "netns", a)
        _sh("ip", "link", "set", vb, "netns", b)
        for ns, dev, addr in ((a, va, HEAD), (b, vb, WORKER)):
            _sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _sh("ip", "-n", ns, "link", "set", dev, "up")
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        _sh("ip", "netns", "exec", a, str(BIN / "ray"), "start", "--head", f"--node-ip-address={HEAD}",
            f"--port={PORT}", "--num-cpus=1", "--include-dashboard=false", env=env)
        _sh("ip", "netns", "exec", b, str(BIN / "ray"), "start", f"--address={HEAD}:{PORT}",
            f"--node-ip-address={WORKER}", "--num-cpus=1", env=env)
        yield a, b, env
    finally:
        for ns in (b, a):
            _sh("ip", "netns", "exec", ns, str(BIN / "ray"), "stop", "--force", check=False, env=env)
        for ns in (a, b):
            _sh("ip", "netns", "del", ns, check=False)


def test_study_runs_trials_on_both_hosts(two_hosts, tmp_path, cache_dir) -> None:
    a, _, env = two_hosts
    spec = {**SMALL, "name": "cluster", "arms": [
        {"name": "grid", "method": "scalarized", "searcher": {"type": "grid"},
         "grid": {"w": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]}, "fixed": {"epochs": 3}},
    ]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    env = {**env, "PARETOUL_CACHE": str(cache_dir)}
    res = subprocess.run(
        ["ip", "netns", "exec", a, str(BIN / "paretoul"), "study", "launch", "spec.yaml",
         "--address", f"{HEAD}:{PORT}", "--out", "out", "--quiet"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    study = optuna.load_study(study_name="cluster:grid", storage=f"sqlite:///{tmp_path / 'out' / 'study.db'}")
    trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trials) == 6
    assert {t.user_attrs["node"] for t in trials} == {HEAD, WORKER}
