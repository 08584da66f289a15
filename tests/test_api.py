"""The notebook API, as a notebook uses it: the shared study (:mod:`tests.shared_study`),
launched from a dict through ``paretoul.launch_study``, reopened with ``open_study``, and every
:class:`paretoul.Study` method called (real Ray, real SQLite)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import paretoul
from tests.shared_study import CONFIGS, FAILED, NAME, SPEC, plugin_environment


def test_the_launch_left_the_callers_dict_untouched(shared_study) -> None:
    assert shared_study.spec_before == SPEC  # SPEC is the very dict the launch was given


def test_launch_returns_the_study_with_its_summary_and_report(shared_study) -> None:
    shared = shared_study
    study = shared.study
    assert isinstance(study, paretoul.Study) and study.name == NAME
    assert study.summary["complete"] and study.summary["report"].endswith("report.html")
    assert (shared.out / "report" / "report.html").is_file()


def test_open_study_and_every_method(shared_study, tmp_path, monkeypatch) -> None:
    shared = shared_study
    study = paretoul.open_study(shared.out)
    assert repr(study) == f"Study({NAME!r}, '{shared.out}')"
    # the summary of an opened study is read now, with the same keys as the launch's
    assert study.summary["complete"] and study.summary["report"] == shared.summary["report"]
    assert study.summary["headline"] == shared.summary["headline"] is not None
    assert {a["arm"] for a in study.summary["arms"]} == {a["arm"] for a in shared.summary["arms"]}
    status = study.status()
    assert status["complete"] and {a["arm"] for a in status["arms"]} == (
        {a["name"] for a in SPEC["arms"]} | {"jd@r1", "fw@r1"})

    df = study.trials_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == CONFIGS  # one row per configuration
    assert {"key", "arm", "method", "searcher", "state", "params_lr", "params_w",
            "values_forget_gap", "values_retain_gap", "ua", "ua_std", "error"} <= set(df.columns)
    # the names before Optuna's convention still read, for one release, with a warning
    with pytest.warns(FutureWarning, match=r"'params.lr' is now 'params_lr'"):
        assert df["params.lr"].equals(df["params_lr"])
    with pytest.warns(FutureWarning, match=r"'objective.forget_gap' is now 'values_forget_gap'"):
        assert df[["key", "objective.forget_gap"]].shape == (len(df), 2)
    with pytest.raises(KeyError):
        df["params.nope"]
    assert set(df["method"]) == {a["method"] for a in SPEC["arms"]}
    failed = df["arm"].isin(list(FAILED))
    assert (df.loc[~failed, "state"] == "complete").all() and (df.loc[failed, "state"] == "failed").all()
    assert df.loc[failed, "error"].str.len().gt(0).all()
    assert (df.loc[~failed & df["full"], "ua_std"] >= 0).all()  # sample std over the 2 seeds
    # the fidelity arm: two configurations stopped after one seed, one measured on both
    halving = df[df["arm"] == "ga-halving"]
    assert sorted(halving["seeds_done"]) == [1, 1, 2] and halving["full"].sum() == 1
    assert df.loc[df["arm"] != "ga-halving", "full"].eq(~failed[df["arm"] != "ga-halving"]).all()
    # gradient conflict: free for raul and scalarized (the Jacobian step's Gramian), probed for
    # NegGrad+ (probe_every 1), not measured by ft or ga
    measured = df["method"].isin(["raul", "scalarized", "neggrad_plus"]) & ~failed
    assert df.loc[measured, "grad_cos"].between(-1, 1).all()
    assert df.loc[measured, "grad_conflict"].between(0, 1).all()
    assert df.loc[df["method"].isin(["ft", "ga"]), "grad_cos"].isna().all()
    records = {r.key: r for r in study.data().finished()}
    probed = records[df.loc[df["arm"] == "ng-probe", "key"].iloc[0]]
    assert set(probed.conflict) == {"grad_cos", "grad_conflict"}

    arms = study.front()
    assert set(arms) == {a["name"] for a in SPEC["arms"]}
    assert all(bool(a["front"]) == (name not in FAILED) for name, a in arms.items())
    assert set(study.front(by="method")) == {a["method"] for a in SPEC["arms"]}
    overall = study.front(by="overall")  # every `by` gives a name -> front mapping
    assert set(overall) == {"overall"} and overall["overall"]["hv"] > 0
    assert all(set(f) == {"hv", "finished", "front", "dominated_by_original"}
               for by in ("arm", "method", "searcher", "overall") for f in study.front(by=by).values())
    everything = study.fronts()  # what `paretoul front --json` prints, less the comparisons
    assert {"arms", "methods", "searchers", "overall", "normalisation"} <= set(everything)
    assert everything["arms"] == arms
    with pytest.warns(FutureWarning, match=r"now fronts\(\)"):
        assert study.front(by="all") == everything
    with pytest.raises(paretoul.UserError, match=r"by: unknown value 'colour'"):
        study.front(by="colour")
    with pytest.raises(paretoul.UserError, match=r"did you mean 'method'"):
        study.front(by="methods")

    verdict = study.compare()
    assert [c["name"] for c in verdict["comparisons"]] == ["raul-nsga2 vs sc-match", "jd vs fw",
                                                           "jd-w vs fw-w"]

    choice = study.choose("knee")
    assert choice.record.key in set(df["key"])
    assert choice.measured is not None and choice.measured["on"] == "search"  # no validation yet
    as_json = choice.to_dict()
    assert as_json["search"]["seeds"] == as_json["seeds"] == [0, 1]
    with pytest.raises(paretoul.UserError, match=r"on: .* no validation"):
        study.choose("knee", on="validation")
    assert study.choose("weights", weights=[1.0, 0.0]).rule == "weights"
    # real keywords, Python-worded errors: no CLI flag in what a notebook reads
    with pytest.raises(TypeError):
        study.choose("weights", weight=[1.0, 0.0])
    with pytest.raises(paretoul.UserError) as e:
        study.choose("weights")
    assert str(e.value) == ("weights: rule 'weights' needs weights=(a, b), the importance of each "
                            "objective") and "--" not in str(e.value)
    with pytest.raises(paretoul.UserError, match=r"^rule: p is not used by rule 'knee'"):
        study.choose("knee", p=2)
    with pytest.raises(paretoul.UserError, match=r"^rule: unknown value 'kne'; did you mean 'knee'"):
        study.report(tmp_path / "no", rule="kne")

    monkeypatch.setenv("PARETOUL_CACHE", str(shared.cache))
    exported = study.export(choice, tmp_path / "model.pt")
    assert exported["max_abs_difference"] <= exported["tolerance"]
    model = paretoul.load_model(tmp_path / "model.pt")
    assert model(torch.zeros(1, 1, 8, 8)).shape == (1, 10)
    with pytest.raises(paretoul.UserError, match=r"already exists; .*overwrite=True"):
        study.export(choice, tmp_path / "model.pt")
    assert study.export(choice, tmp_path / "model.pt", overwrite=True)["max_abs_difference"] == \
        exported["max_abs_difference"]
    # studies/README.md's "to use it" block, as written, on raw digits pixels
    from tests.docs_blocks import block

    monkeypatch.chdir(tmp_path)
    scope = {"raw": torch.randint(0, 17, (4, 1, 8, 8)).float()}
    exec(block("studies/README.md", "import json, torch, paretoul").text, scope)
    assert scope["pred"].shape == (4,) and set(scope["pred"].tolist()) <= set(range(10))

    paths = study.report(tmp_path / "rep")
    assert paths["html"].is_file() and paths["markdown"].is_file()
    plots = study.plot(tmp_path / "plots")
    assert {"pareto_scatter", "hv_history"} <= set(plots) and all(p.is_file() for p in plots.values())


def test_open_study_refuses_a_directory_without_a_study(tmp_path) -> None:
    with pytest.raises(paretoul.UserError, match=r"study: .* holds no study"):
        paretoul.open_study(tmp_path)


def test_resume_of_a_complete_study_runs_nothing(shared_study) -> None:
    shared = shared_study
    again = paretoul.resume_study(shared.out, cache_dir=shared.cache, quiet=True)
    assert again.summary["already_complete"]


def test_launch_with_load_if_exists_opens_the_finished_study_and_runs_nothing(shared_study, capsys
                                                                             ) -> None:
    shared = shared_study
    with plugin_environment(), pytest.raises(paretoul.UserError) as e:
        paretoul.launch_study(SPEC, shared.out, cache_dir=shared.cache, quiet=True)
    assert "load_if_exists=True" in str(e.value) and "--" not in str(e.value)
    with plugin_environment():
        again = paretoul.launch_study(SPEC, shared.out, load_if_exists=True,
                                      cache_dir=shared.cache, quiet=True)
    assert again.summary["already_complete"] and again.summary["complete"]
    assert again.summary["headline"] == shared.summary["headline"]
    assert again.trials_dataframe().equals(paretoul.open_study(shared.out).trials_dataframe())
    other = {**SPEC, "seeds": [5, 6]}
    with plugin_environment(), pytest.raises(paretoul.UserError,
                                             match=r"out: .* holds another study \(its seeds differ"):
        paretoul.launch_study(other, shared.out, load_if_exists=True, quiet=True)
