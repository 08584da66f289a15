"""The CLI starts fast: ``--help`` of every command, ``import paretoul`` and the listings
(``methods``, ``metrics``, ``datasets``, ``models``) load no heavy library (torch, scikit-learn,
scipy, Optuna, Ray, pandas, matplotlib), and ``study status`` loads Optuna only; the lazy
exports still give the real objects. (Speed itself is measured in ``analysis/bench_cli.py``.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "sklearn", "scipy", "optuna", "ray", "pandas", "matplotlib")

PROBE = f"""
import json, sys
argv = json.loads(sys.argv[1])
if argv is None:
    import paretoul
else:
    from paretoul.cli import main
    try:
        main(argv)
    except SystemExit:
        pass
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)
"""
ROOT = Path(__file__).resolve().parents[2]


def _loaded(argv: list[str] | None) -> tuple[subprocess.CompletedProcess, list[str]]:
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r, json.loads(r.stderr.strip().splitlines()[-1])

COMMANDS = [None, ["--help"], ["run", "--help"], ["study", "--help"], ["study", "launch", "--help"],
            ["study", "status", "--help"], ["study", "resume", "--help"], ["front", "--help"],
            ["compare", "--help"], ["choose", "--help"], ["report", "--help"], ["plot", "--help"],
            ["validate", "--help"], ["audit", "--help"], ["methods", "--help"]]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: "import paretoul" if a is None else " ".join(a))
def test_help_and_import_load_no_heavy_library(argv) -> None:
    r, loaded = _loaded(argv)
    assert loaded == []
    if argv is not None:
        assert "usage: paretoul" in r.stdout


@pytest.mark.parametrize("argv", [["methods"], ["methods", "raul"], ["methods", "salun"],
                                  ["metrics"], ["metrics", "mia"], ["methods", "--fidelity-table"],
                                  ["datasets"], ["models"]], ids=" ".join)
def test_listings_load_no_heavy_library(argv) -> None:
    r, loaded = _loaded(argv)
    assert loaded == []
    assert r.stdout.count("\n") >= 3  # and they list something


def test_study_status_loads_optuna_only(tmp_path: Path) -> None:
    import optuna

    shutil.copy(ROOT / "studies" / "quickstart.yaml", tmp_path / "spec.yaml")
    optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="other")
    r, loaded = _loaded(["study", "status", str(tmp_path)])
    assert loaded == ["optuna"]
    assert "raul-uniform" in r.stdout and "0/" in r.stdout


def test_lazy_exports_are_the_real_objects() -> None:
    import paretoul
    import paretoul.training as training
    from paretoul.one_run import run
    from paretoul.training.ensemble import sgd_train_many

    assert paretoul.run is run and training.sgd_train_many is sgd_train_many
    assert set(paretoul.__all__) <= set(dir(paretoul))
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        paretoul.nonexistent  # noqa: B018


def test_paretoul_run_stays_the_function_after_its_module_is_imported() -> None:
    code = ("import paretoul.one_run, paretoul.artefacts, paretoul.audit.challenge, paretoul; "
            "assert callable(paretoul.run) and paretoul.run.__module__ == 'paretoul.one_run'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
