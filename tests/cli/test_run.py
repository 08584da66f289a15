"""End-to-end ``paretoul run`` on digits, through the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from paretoul import Splits


def _paretoul(*args: str, cache: Path, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("paretoul")
    env = {**os.environ, "PARETOUL_CACHE": str(cache)}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


def test_run_on_digits_end_to_end(tmp_path) -> None:
    cache = tmp_path / "cache"
    args = ("run", "--dataset", "digits", "--model", "mlp", "--forget", "random:0.1",
            "--method", "ft", "--seed", "0", "--param", "lr=0.01", "--param", "epochs=5",
            "--device", "cpu")
    cold = _paretoul(*args, "--out", "r1", "--json", cache=cache, cwd=tmp_path)
    assert cold.returncode == 0, cold.stderr
    record = json.loads(cold.stdout)
    assert record["cache"]["original"]["status"] == "miss"
    assert record["method"] == {"name": "ft", "params": {
        "epochs": 5, "lr": 0.01, "batch_size": 64, "momentum": 0.9, "weight_decay": 0.0005}}
    for model in ("original", "oracle", "unlearned"):
        m = record["metrics"][model]
        for key in ("ua", "ra", "ta", "mia", "avg_gap", "js_forget", "js_test", "rte",
                    "ref_acc_gap", "ref_mia_auc", "forget_gap", "retain_gap"):
            assert key in m and np.isfinite(m[key]), (model, key)
    assert record["metrics"]["oracle"]["avg_gap"] == 0.0
    assert record["versions"]["torch"] and record["versions"]["paretoul"] == "0.1.0"
    assert record["machine"]["torch_cpu_kernels"] == torch.backends.cpu.get_cpu_capability()
    saved = json.loads((tmp_path / "r1" / "record.json").read_text())
    assert saved == record
    splits = Splits.load(tmp_path / "r1" / "splits.npz")
    assert splits.checksum() == record["splits"]["checksum"]
    assert record["splits"]["sizes"]["forget"] == len(splits.forget)

    warm = _paretoul(*args, "--out", "r2", cache=cache, cwd=tmp_path)
    assert warm.returncode == 0, warm.stderr
    assert "cache: original hit, oracle hit" in warm.stdout
    for row in ("original", "oracle", "ft"):
        assert f"│ {row}" in warm.stdout
    again = json.loads((tmp_path / "r2" / "record.json").read_text())
    # Same seed, same everything on the CPU: identical metrics (run time aside).
    strip = {k: {m: v for m, v in d.items() if m != "rte"} for k, d in again["metrics"].items()}
    assert strip == {k: {m: v for m, v in d.items() if m != "rte"}
                     for k, d in record["metrics"].items()}


def test_run_refuses_to_overwrite_a_record(tmp_path) -> None:
    cache = tmp_path / "cache"
    first = _paretoul("run", "--method", "ga", "--out", "r", "--quiet", "--device", "cpu",
                      cache=cache, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = _paretoul("run", "--method", "ga", "--out", "r", "--quiet", "--device", "cpu",
                       cache=cache, cwd=tmp_path)
    assert second.returncode == 2
    assert second.stderr.strip().count("\n") == 0 and "out:" in second.stderr


def test_corrupted_cache_is_reported_in_one_line_and_rebuilt(tmp_path) -> None:
    cache = tmp_path / "cache"
    assert _paretoul("run", "--quiet", "--out", "a", cache=cache, cwd=tmp_path).returncode == 0
    for pt in (cache / "oracle").glob("*.pt"):
        pt.write_bytes(pt.read_bytes()[:100])
    res = _paretoul("run", "--quiet", "--out", "b", "--json", cache=cache, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "corrupted (truncated); rebuilding" in lines[0]
    rec = json.loads(res.stdout)
    assert rec["cache"]["oracle"]["status"] == "rebuilt"
    assert rec["cache"]["original"]["status"] == "hit"


def test_run_on_fabricated_cifar_files(tmp_path) -> None:
    """The real CIFAR path: torchvision's loader, augmentation, a conv net, through the CLI."""
    from tests.conftest import write_fake_cifar

    write_fake_cifar(tmp_path / "data", "cifar10", n_train=200, n_test=50)
    res = _paretoul("run", "--dataset", "cifar10", "--data-root", "data", "--no-verify",
                    "--model", "cnn", "--recipe", "epochs=2", "--recipe", "batch_size=32",
                    "--forget", "class:1", "--method", "ft", "--param", "epochs=1", "--json",
                    "--out", "r", cache=tmp_path / "cache", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    assert rec["splits"]["sizes"] == {"reference": 20, "forget": 18, "retain": 162, "test": 50}
    assert rec["config"]["dataset"] == "cifar10" and rec["recipe"]["epochs"] == 2


def test_configure_copies_and_never_mutates_the_callers_config() -> None:
    from paretoul.errors import UserError
    from paretoul.one_run import RunConfig, configure

    mine = RunConfig(method="ft", params={"epochs": 2}, recipe={"epochs": 3})
    cfg = configure(mine, method="ga", seed=4)
    cfg.params["lr"] = 0.1
    cfg.recipe["lr"] = 0.2
    assert (mine.method, mine.seed, mine.params, mine.recipe) == ("ft", 0, {"epochs": 2}, {"epochs": 3})
    assert (cfg.method, cfg.seed) == ("ga", 4)
    with pytest.raises(UserError, match="colour: unknown run option"):
        configure(mine, colour="red")
