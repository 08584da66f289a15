"""Spec validation: each mistake exits 2 with one line naming the field, before anything runs."""

from __future__ import annotations

import copy

import pytest
import yaml

from paretoul.cli import main
from paretoul.study import load_spec
from tests.study.conftest import SMALL


def _set(doc: dict, path: str, value) -> dict:
    doc = copy.deepcopy(doc)
    node = doc
    parts = path.replace("]", "").replace("[", ".").split(".")
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node[p]
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return doc


_DELETE = object()

# Further malformed specs: tests/test_bad_input_table.py
CASES = [
    ("wrong type", "seeds", "zero", "seeds"),
    ("out of range", "reference_fraction", 1.5, "reference_fraction"),
    ("match metric as objective", "objectives", [{"metric": "ua"}], "objectives[0].direction"),
    ("bad direction", "objectives", [{"metric": "ua", "direction": "up"}],
     "objectives[0].direction"),
    ("unknown searcher", "arms[0].searcher.type", "bayes", "arms[0].searcher.type"),
    ("unknown sampler", "arms[0].searcher.sampler", "cmaes", "arms[0].searcher.sampler"),
    ("param not in space", "arms[0].search", ["lr", "colour"], "arms[0].search"),
    ("fixed param unknown", "arms[0].fixed", {"epochz": 1}, "arms[0].fixed.epochz"),
    ("fixed param bad value", "arms[0].fixed", {"epochs": 0}, "arms[0].fixed.epochs"),
    ("range outside declared", "arms[0].space", {"lr": {"low": 1e-9}}, "arms[0].space.lr"),
    ("grid on optuna arm", "arms[0].grid", {"w": [0.1]}, "arms[0].grid"),
    ("pymoo without generations", "arms[2].searcher", {"type": "pymoo", "population": 4},
     "arms[2].searcher"),
    ("generations on an optuna arm", "arms[0].searcher", {"type": "optuna", "generations": 3},
     "arms[0].searcher.generations"),
]


@pytest.mark.parametrize("what, path, value, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_spec_exits_2_with_one_line(tmp_path, capsys, what, path, value, expected) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(_set(SMALL, path, value), sort_keys=False))
    code = main(["study", "launch", str(spec), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith("paretoul: error: ") and expected in err, err
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


@pytest.mark.parametrize("content, expected", [
    ("name: [unclosed", "not valid YAML at line 1"),
    ("- just\n- a list\n", "mapping"),
    ("", "mapping"),
])
def test_bad_yaml(tmp_path, capsys, content, expected) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(content)
    assert main(["study", "launch", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and err.count("\n") == 0


def test_missing_spec_file(tmp_path, capsys) -> None:
    assert main(["study", "launch", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.ray
def test_gpu_request_on_a_cluster_without_gpu(tmp_path, capsys) -> None:
    """Ray would wait forever for the GPU: the launcher checks the cluster first (real Ray)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(_set(SMALL, "resources", {"gpus": 0.25})))
    code = main(["study", "launch", str(spec), "--out", str(tmp_path / "out"), "--quiet",
                 "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "resources.gpus" in err and "0 GPUs" in err
    assert not (tmp_path / "out").exists()  # a refused study leaves nothing to resume
    import ray

    assert not ray.is_initialized()  # the Ray started for the check was shut down


def test_shipped_studies_are_valid() -> None:
    from pathlib import Path

    for path in sorted(Path("studies").glob("*.yaml")):
        spec = load_spec(path)
        assert spec.arms, path


def test_missing_data_files_fail_in_one_line_and_leave_nothing(tmp_path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    doc = {**SMALL, "dataset": "cifar10", "model": "cnn", "data_root": str(tmp_path / "nodata"),
           "arms": [SMALL["arms"][1]]}
    spec.write_text(yaml.safe_dump(doc))
    code = main(["study", "launch", str(spec), "--out", str(tmp_path / "out"), "--quiet",
                 "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "data-root" in err and "--download" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.ray
def test_set_up_failing_after_ray_started_leaves_nothing(tmp_path, monkeypatch) -> None:
    """A set-up error that arrives after Ray has started: the error reaches the user whole,
    Ray is shut down, and the refused study leaves nothing behind."""
    import time

    from paretoul.errors import UserError
    from paretoul.study import LaunchOptions, launch_summary, runner

    def slow_failure(*args, **kwargs):
        time.sleep(4)  # longer than Ray's start
        raise UserError("data-root", "simulated failure while preparing the artefacts")

    monkeypatch.setattr(runner, "prepare_shared", slow_failure)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**SMALL, "arms": [SMALL["arms"][1]]}))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("the user's file")  # an existing directory is not deleted
    with pytest.raises(UserError, match="simulated failure"):
        launch_summary(spec, LaunchOptions(out=out, cache_dir=tmp_path / "cache", quiet=True))
    assert (out / "keep.txt").exists() and not (out / "spec.yaml").exists()
    assert not (out / "study.db").exists()


def test_unreachable_database_is_one_line_with_the_password_masked(tmp_path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SMALL))
    url = "postgresql://paretoul:s3cret-pw@127.0.0.1:1/studies"  # nothing listens on port 1
    code = main(["study", "launch", str(spec), "--out", str(tmp_path / "out"), "--storage", url])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2 and err.count("\n") == 0 and err.startswith("paretoul: error: storage:")
    assert "s3cret-pw" not in captured.err + captured.out and "paretoul:***@127.0.0.1:1" in err
    assert not (tmp_path / "out").exists()


def test_mask_url() -> None:
    from paretoul.study.storage.store import mask_url

    assert mask_url("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
