"""Analysis never crashes on a partial study: every analysis command on studies with no
trial, one trial, only failed trials, a single arm, an arm without a finished trial, and
trials still in flight or interrupted.

The studies are made by the real code paths without Ray: the launcher's own artefact
preparation, its arm searchers claiming trials in the results database, and the Ray
trainable's function evaluating them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from paretoul.cli import main
from paretoul.study import parse_spec
from paretoul.study.storage import store

ARMS = {
    "raul": {"name": "raul", "method": "raul", "searcher": {"type": "random", "seed": 0}, "budget": 3,
             "fixed": {"epochs": 1, "reference": "uniform"}, "search": ["lr"]},
    "sc": {"name": "sc", "method": "scalarized", "searcher": {"type": "grid"}, "grid": {"w": [0.0, 0.5]},
           "fixed": {"epochs": 1}},
    "bad": {"name": "bad", "method": "ga", "searcher": {"type": "grid"}, "grid": {"lr": [1e30, 1e31]},
            "fixed": {"epochs": 2}},  # the loss turns NaN: every trial fails
    "only": {"name": "only", "method": "ft", "searcher": {"type": "grid"}, "grid": {"epochs": [1]}},
}
# name -> (arms in the spec, {arm: trials to run}, {arm: trials left in flight})
SCENARIOS: dict[str, tuple[list[str], dict[str, int], dict[str, int]]] = {
    "no-database": (["raul", "sc"], {}, {}),  # its study.db deleted or never copied
    "no-trial": (["raul", "sc"], {"raul": 0}, {}),
    "one-trial": (["raul", "sc"], {"raul": 1}, {}),
    "only-failed": (["raul", "bad"], {"bad": 2}, {}),
    "single-arm": (["raul"], {"raul": 3}, {}),
    "single-trial-single-arm": (["only"], {"only": 1}, {}),  # complete with one trial
    "arm-without-finished": (["raul", "sc", "bad"], {"sc": 2, "bad": 1}, {}),
    "in-flight": (["raul", "sc"], {"sc": 1}, {"raul": 1}),
}


def _make(root: Path, name: str, cache: Path, **spec_keys: Any) -> Path:
    from paretoul.execution.trial import prepare_shared, run_trial
    from paretoul.study.search import make_arm
    from paretoul.study.storage.layout import META_FILE, SPEC_FILE

    arms, runs, in_flight = SCENARIOS[name]
    spec = parse_spec({"name": name, "dataset": "digits", "forget": "random:0.1", "seeds": [0, 1],
                       "arms": [ARMS[a] for a in arms], **spec_keys})
    d = root / name
    d.mkdir()
    (d / SPEC_FILE).write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    if name == "no-database":
        (d / META_FILE).write_text(json.dumps({"name": name, "runs": []}))
        return d
    shared, reference = prepare_shared(spec.setting, spec.seeds, cpus=spec.resources.cpus, timeout_s=None,
                                       cache_dir=cache, quiet=True)
    storage = store.open_storage(store.default_storage_url(d))
    for i, arm_name in enumerate(arms):
        arm = make_arm(spec, i, storage)
        for k in range(runs.get(arm_name, 0)):
            params = arm.suggest(f"{arm_name}-{k}")
            result = run_trial({"arm": arm_name, "method": arm.method, "params": params}, shared)
            arm.complete(f"{arm_name}-{k}", result, None)
        for k in range(in_flight.get(arm_name, 0)):
            arm.suggest(f"{arm_name}-inflight-{k}")
    store.close(storage)
    (d / META_FILE).write_text(json.dumps({"name": name, "created": time.time(), "runs": [],
                                           "baselines": reference}))
    return d


@pytest.fixture(scope="module")
def studies(tmp_path_factory, cache_dir) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("partial")
    return {name: _make(root, name, cache_dir) for name in SCENARIOS}


COMMANDS: dict[str, list[str]] = {
    "status": ["study", "status", "{d}"],
    "status-json": ["study", "status", "{d}", "--json"],
    "front": ["front", "{d}"],
    "front-json": ["front", "{d}", "--json"],
    "plot": ["plot", "{d}", "--out", "{d}/plots"],
    "choose-knee": ["choose", "{d}", "--rule", "knee"],
    "choose-weights": ["choose", "{d}", "--rule", "weights", "--weights", "1,2"],
    "choose-compromise": ["choose", "{d}", "--rule", "compromise", "--p", "1"],
    "choose-constrained": ["choose", "{d}", "--rule", "constrained", "--max-retain-drop", "50"],
    "choose-retrain": ["choose", "{d}", "--rule", "closest-to-retrain", "--json"],
    "choose-oracle-free": ["choose", "{d}", "--rule", "oracle-free"],
    "report": ["report", "{d}", "--out", "{d}/rep"],
    "report-weights": ["report", "{d}", "--out", "{d}/rep-w", "--rule", "weights", "--weights", "2,1"],
}
FINISHED = {"no-database": 0, "no-trial": 0, "one-trial": 1, "only-failed": 0, "single-arm": 3,
            "single-trial-single-arm": 1, "arm-without-finished": 2, "in-flight": 1}
COMPLETE = {"single-arm", "single-trial-single-arm"}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_analysis_of_a_partial_study(studies, scenario: str, command: str, capsys) -> None:
    d = studies[scenario]
    argv = [a.replace("{d}", str(d)) for a in COMMANDS[command]]
    rc = main(argv)  # an exception here (a traceback for the user) fails the test
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    finished = FINISHED[scenario]
    if scenario == "no-database":  # a study directory whose database was lost: said in one line
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "no results database" in err, err
        return
    if command.startswith("choose") and finished == 0:
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "no finished trial" in err, err
        return
    assert rc == 0, err
    assert not err.strip(), err
    if command == "status-json":
        summary = json.loads(out)
        assert sum(a["finished"] for a in summary["arms"]) == finished
        assert summary["complete"] == (scenario in COMPLETE)
    if command.startswith("report"):
        md = (d / ("rep" if command == "report" else "rep-w") / "report.md").read_text()
        assert (d / ("rep" if command == "report" else "rep-w") / "report.html").is_file()
        if finished == 0:
            assert "no finished trial" in md
        else:
            assert f"{finished} finished trials" in md
    if command == "front-json":
        assert json.loads(out)["trials"]["complete"] == finished
    if command == "plot" and finished == 0:
        assert "nothing to plot" in out
    if command == "choose-knee" and finished == 1:
        assert "fell back" in out  # knee on one point says how it chose


def _one_line_error(argv: list[str], capsys) -> str:
    rc = main(argv)
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(("argv", "names"), [
    (["choose", "{d}", "--rule", "knee", "--weights", "1,2"], "--weights"),
    (["choose", "{d}", "--rule", "weights", "--p", "3"], "--p"),
    (["choose", "{d}", "--rule", "compromise", "--min-test-acc", "50"], "--min-test-acc"),
    (["choose", "{d}", "--rule", "closest-to-retrain", "--max-retain-drop", "1"], "--max-retain-drop"),
    (["report", "{d}", "--rule", "knee", "--weights", "1,2"], "--weights"),
    (["choose", "{d}", "--rule", "weights"], "--weights"),
    (["report", "{d}", "--rule", "weights"], "--weights"),
    (["report", "{d}", "--rule", "constrained"], "--max-retain-drop"),
])
def test_options_a_rule_does_not_use_are_refused(studies, argv: list[str], names: str, capsys) -> None:
    d = studies["single-arm"]
    line = _one_line_error([a.replace("{d}", str(d)) for a in argv], capsys)
    assert names in line, line


def test_oracle_free_without_a_reference_set_is_one_line(tmp_path: Path, cache_dir: Path,
                                                        capsys) -> None:
    d = _make(tmp_path, "single-arm", cache_dir, reference_fraction=0)
    line = _one_line_error(["choose", str(d), "--rule", "oracle-free"], capsys)
    assert "reference" in line and "oracle-free" in line, line
    assert main(["choose", str(d), "--rule", "knee"]) == 0  # the other rules still work


def test_fixture_studies_are_what_they_claim(studies) -> None:
    import optuna

    url = store.default_storage_url(studies["in-flight"])
    raul = optuna.load_study(study_name="in-flight:raul", storage=url)
    assert [t.state for t in raul.trials] == [optuna.trial.TrialState.RUNNING]
    bad = optuna.load_study(study_name="only-failed:bad",
                            storage=store.default_storage_url(studies["only-failed"]))
    assert [t.state for t in bad.trials] == [optuna.trial.TrialState.FAIL] * 2
    assert all("UnlearningDiverged" in t.user_attrs["error"] for t in bad.trials)


def test_a_study_written_before_the_baselines_rename_still_reads(studies, tmp_path: Path) -> None:
    """Studies written before 2026-12 keep the original's and oracle's metrics under
    ``reference`` in study.json: they still load, with the same baselines."""
    import shutil

    from paretoul.study.storage.layout import META_FILE
    from paretoul.study.storage.records import load_study_data

    old = tmp_path / "old"
    shutil.copytree(studies["single-arm"], old)
    meta = json.loads((old / META_FILE).read_text())
    meta["reference"] = meta.pop("baselines")
    (old / META_FILE).write_text(json.dumps(meta))
    now, before = load_study_data(studies["single-arm"]), load_study_data(old)
    assert set(before.baselines) == {"0", "1"}
    assert before.baselines == now.baselines
    assert set(before.baseline_points()) == {"original", "oracle"}
