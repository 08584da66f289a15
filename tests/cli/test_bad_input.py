"""Each user mistake: exit code 2 and one line naming the field, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paretoul.cli import main

# Further bad command lines: tests/test_bad_input_table.py
BAD = [
    (["run", "--dataset", "imagenet"], "dataset"),
    (["run", "--dataset", "mnist", "--data-root", "/nonexistent/mnist"], "data-root"),
    (["run", "--model", "vit"], "model"),
    (["run", "--param", "lr"], "param"),
    (["run", "--param", "lr="], "param"),
    (["run", "--param", "epochs=2.5"], "param.epochs"),
    (["run", "--forget", "random:1.5"], "forget"),
    (["run", "--forget", "random:0"], "forget"),
    (["run", "--forget", "random:100000"], "forget"),
    (["run", "--forget", "class:10"], "forget"),
    (["run", "--forget", "random:0.0001"], "selects no samples"),
    (["run", "--forget", "class:"], "forget"),
    (["run", "--reference-fraction", "1.0"], "reference-fraction"),
    (["run", "--recipe", "epochs=0"], "recipe.epochs"),
    (["run", "--recipe", "foo=1"], "recipe.foo"),
    (["run", "--device", "tpu"], "device"),
    (["run", "--bogus"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
    (["methods", "nope"], "method"),
]


@pytest.mark.parametrize("argv, field", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_exits_2_with_one_line(argv, field, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARETOUL_CACHE", str(tmp_path / "cache"))
    try:
        code = main([*argv, "--quiet"] if argv[0] == "run" else argv)
    except SystemExit as e:  # argparse errors
        code = e.code
    captured = capsys.readouterr()
    assert code == 2
    err = captured.err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("paretoul") and field in err
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_missing_data_names_path_and_flag(tmp_path, capsys) -> None:
    code = main(["run", "--dataset", "cifar100", "--data-root", str(tmp_path / "x"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and str(tmp_path / "x") in err and "--download" in err


def test_real_entry_point_exit_code_and_no_traceback(tmp_path) -> None:
    exe = Path(sys.executable).with_name("paretoul")
    res = subprocess.run([str(exe), "run", "--forget", "random:1.5"], capture_output=True, text=True,
                         cwd=tmp_path, env={**os.environ, "PARETOUL_CACHE": str(tmp_path)},
                         timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip() == "paretoul: error: forget: forget fraction 1.5 is outside (0, 1)"
