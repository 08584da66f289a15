"""A spec mistake through the real CLI: one line with a suggestion, before torch or Ray load.

The CLI validates the spec before it imports the engine, so the error comes within a fraction
of a second (``analysis/bench_cli.py`` times it); here ``python -X importtime`` shows which
modules the failing command imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CASES = [
    ("budget:", "budgett:", "arms[2].budgett: unknown key; did you mean 'budget'?"),
    ("lr: {low: 0.003", "learning_rate: {low: 0.003",
     "arms[2].space.learning_rate: 'learning_rate' is not in raul's search space; did you mean 'lr'?"),
    ("sampler: nsga2", "sampler: nsga", "arms[2].searcher.sampler: unknown value 'nsga'; did you mean "
     "'nsga2'?; allowed: nsga2, tpe, gp, random"),
    ("seeds: [0,", "seed: [0,", "seed: unknown key; did you mean 'seeds'?"),
]


@pytest.mark.parametrize("old, new, expected", CASES, ids=[c[1] for c in CASES])
def test_a_misspelt_spec_is_one_line_with_a_suggestion_before_any_heavy_import(
        tmp_path, old, new, expected) -> None:
    text = (ROOT / "studies" / "quickstart.yaml").read_text()
    assert old in text
    spec = tmp_path / "spec.yaml"
    spec.write_text(text.replace(old, new, 1))
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "paretoul", "study", "launch",
                        str(spec), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, cwd=tmp_path, timeout=60)
    lines = [ln for ln in p.stderr.splitlines() if not ln.startswith("import time:")]
    assert p.returncode == 2 and lines == [f"paretoul: error: {lines[0].split('error: ', 1)[1]}"]
    assert lines[0].startswith(f"paretoul: error: {expected}"), lines[0]
    imported = {ln.split("|")[-1].strip() for ln in p.stderr.splitlines() if ln.startswith("import time:")}
    assert "pydantic" in imported and "yaml" in imported  # the spec was read and validated
    assert not {"torch", "ray", "optuna", "pymoo", "sklearn"} & imported
    assert not (tmp_path / "out").exists()
