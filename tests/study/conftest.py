"""A small study spec exercising every searcher, and helpers to run the CLI for real."""

from __future__ import annotations

import os
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
        {"name": "ft-pymoo", "method": "ft", "searcher": {"type": "pymoo", "population": 2,
                                                           "generations": 2, "seed": 0},
         "space": {"epochs": {"low": 1, "high": 2}}},
        {"name": "ga-random", "method": "ga", "searcher": {"type": "random", "seed": 1},
         "budget": 2, "fixed": {"epochs": 1}},
        # lr 1e30 makes the loss NaN: every trial of this arm must be recorded as failed
        {"name": "ga-diverges", "method": "ga", "searcher": {"type": "grid"},
         "grid": {"lr": [1e30, 1e31]}, "fixed": {"epochs": 2}},
    ],
}


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
