"""Replicates and held-out validation seeds on a real study (real Ray, real database): the
shared study's replicated arms ``jd`` and ``fw``; validate and audit write, so they work on a
copy of its directory."""

from __future__ import annotations

import json

import optuna
import pytest

from paretoul.cli import main
from paretoul.study.storage.records import load_study_data
from paretoul.study.storage.store import open_storage, validation_study_name
from tests.shared_study import NAME, copy_of

pytestmark = pytest.mark.ray


@pytest.fixture
def study(shared_study, tmp_path):
    return copy_of(shared_study, tmp_path / "study"), shared_study.cache


def _arm_trials(out):
    url = f"sqlite:///{(out / 'study.db').resolve()}"
    storage = open_storage(url)
    names = optuna.get_all_study_names(storage)
    trials = {n: [(t.number, t.state, t.values) for t in optuna.load_study(
        study_name=n, storage=storage).get_trials()] for n in names if "validation" not in n}
    return storage, names, trials


def _cached(cache):
    """(kind, seed) of every checkpoint in ``cache``."""
    return {(side.parent.name, json.loads(side.read_text())["spec"]["seed"])
            for side in cache.glob("*/*.json")}


def test_each_replicate_is_its_own_search_run(study, capsys) -> None:
    out, _ = study
    storage, names, _ = _arm_trials(out)
    replicated = sorted(n for n in names if n.split(":", 1)[1].split("@")[0] in ("jd", "fw"))
    assert replicated == [f"{NAME}:fw", f"{NAME}:fw@r1", f"{NAME}:jd", f"{NAME}:jd@r1"]
    seeds = {n.split(":", 1)[1]: optuna.load_study(study_name=n, storage=storage)
             .user_attrs["searcher"]["seed"] for n in replicated}
    assert seeds == {"fw": 3, "fw@r1": 4, "jd": 3, "jd@r1": 4}
    data = load_study_data(out)
    assert sorted({(r.arm, r.replicate) for r in data.finished() if r.arm in ("jd", "fw")}) == [
        ("fw", 0), ("fw", 1), ("jd", 0), ("jd", 1)]
    lrs = {r.replicate: r.params["lr"] for r in data.finished() if r.arm == "jd" and r.number == 0}
    assert lrs[0] != lrs[1]  # different searcher seeds propose different points
    assert main(["compare", str(out), "--json"]) == 0
    (c,) = [c for c in json.loads(capsys.readouterr().out)["comparisons"] if c["name"] == "jd vs fw"]
    assert c["on"] == "search" and c["replicates"] == 2
    assert c["full_budget"]["trials_per_replicate"] == {"jd": [3, 3], "fixed": [3, 3]}


def test_validate_records_apart_and_compare_measures_on_it(study, capsys, tmp_path,
                                                           monkeypatch) -> None:
    out, cache = study
    monkeypatch.setenv("PARETOUL_CACHE", str(cache))
    _, _, before = _arm_trials(out)
    assert main(["compare", str(out), "--json"]) == 0
    search = json.loads(capsys.readouterr().out)["comparisons"][0]
    assert main(["validate", str(out), "--seeds", "0,7"]) == 2  # 0 is a search seed
    assert "0 is a search seed of this study" in capsys.readouterr().err
    fresh = tmp_path / "held-out-cache"  # --cache-dir, not $PARETOUL_CACHE, takes the new models
    assert main(["validate", str(out), "--seeds", "7,8", "--local", "--cache-dir", str(fresh)]) == 0
    text = capsys.readouterr().out
    assert "validation seeds 7, 8:" in text
    assert {("oracle", 7), ("oracle", 8), ("original", 7), ("original", 8)} <= _cached(fresh)
    storage, _, after = _arm_trials(out)
    assert after == before  # the search is untouched
    vstudy = optuna.load_study(study_name=validation_study_name(NAME), storage=storage)
    evals = vstudy.get_trials()
    assert vstudy.user_attrs["seeds"] == [7, 8] and evals
    assert {t.user_attrs["seed"] for t in evals} == {7, 8}
    data = load_study_data(out)
    keys = {t.user_attrs["trial"] for t in evals}
    assert keys <= {r.key for r in data.finished()}
    # a validation value is that trial's own metrics on the new seed, not the search's
    r = next(r for r in data.finished() if r.key in keys)
    v = data.validated(r)
    assert v is not None and v.seeds == [7, 8] and v.objectives != r.objectives
    # compare: validation by default, the search's figures on request
    assert main(["compare", str(out), "--json"]) == 0
    every = json.loads(capsys.readouterr().out)["comparisons"]
    c = every[0]
    assert c["on"] == "validation" and c["seed_list"] == [7, 8]
    assert "measured on the held-out validation seeds 7, 8" in c["verdict"]
    # validate evaluated every trial of the comparison paired by w, so its per-w figures too
    (paired,) = [c for c in every if c["design"] == "paired by w"]
    assert paired["paired"]["measured_on"].endswith("measured on the held-out validation seeds 7, 8")
    assert [pt["seeds"] for pt in paired["paired"]["points"]] == [[7, 8]] * 3
    assert main(["compare", str(out), "--json", "--on", "search"]) == 0
    assert json.loads(capsys.readouterr().out)["comparisons"][0] == search
    # again: nothing left to evaluate; a third seed through Ray evaluates every target on it
    assert main(["validate", str(out), "--local", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["evaluations"] == 0
    assert main(["validate", str(out), "--seeds", "9", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["seeds"] == [7, 8, 9] and result["evaluations"] == len(result["trials"])
    assert result["failed"] == 0
    # choose and the report say which seeds they used
    assert main(["choose", str(out), "--json", "--on", "validation"]) == 0
    chosen = json.loads(capsys.readouterr().out)
    assert chosen["on"] == "validation" and chosen["seeds"] == [7, 8, 9]
    assert chosen["search"]["seeds"] == [0, 1]
    assert main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Held-out validation seeds: 7-9" in md
    assert "selected on the search seeds 0, 1, measured on the held-out validation seeds 7-9" in md


def test_a_trial_audit_runs_on_ray_and_is_stored_for_the_report(study, capsys, tmp_path,
                                                                monkeypatch) -> None:
    out, cache = study
    unused = tmp_path / "unused-cache"
    monkeypatch.setenv("PARETOUL_CACHE", str(unused))  # --cache-dir is what the audit reads
    key = load_study_data(out).finished()[0].key
    assert main(["audit", str(out), "--trial", key, "--models", "3", "--floor", "--json",
                 "--cache-dir", str(cache)]) == 0
    assert not unused.exists()
    r = json.loads(capsys.readouterr().out)
    assert r["trial"] == key and r["runner"] == "ray" and r["models"] == 3
    assert r["floor"]["source"] == "measured" and r["floor"]["models"] == 3
    assert (out / "audits").is_dir() and r["stored"].startswith(str(out / "audits"))
    assert main(["audit", str(out), "--trial", "nope#9", "--models", "3"]) == 2
    assert "no finished trial 'nope#9'" in capsys.readouterr().err
    assert main(["report", str(out), "--out", str(tmp_path / "rep2")]) == 0
    md = (tmp_path / "rep2" / "report.md").read_text()
    assert "## Forget audits" in md and f"| {key} |" in md
    assert f"| {r['forget_quality']:.4f} | {r['floor']['forget_quality']:.4f} |" in md
