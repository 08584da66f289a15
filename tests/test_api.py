"""The notebook API, as a notebook uses it: the shared study (:mod:`tests.shared_study`),
launched from a dict through ``paretoul.launch_study``, reopened with ``open_study``, and every
:class:`paretoul.Study` method called (real Ray, real SQLite)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import paretoul
from tests.shared_study import CONFIGS, FAILED, NAME, SPEC


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
    assert study.summary is None and repr(study) == f"Study({NAME!r}, '{shared.out}')"
    status = study.status()
    assert status["complete"] and {a["arm"] for a in status["arms"]} == (
        {a["name"] for a in SPEC["arms"]} | {"jd@r1", "fw@r1"})

    df = study.trials_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == CONFIGS  # one row per configuration
    assert {"key", "arm", "method", "searcher", "state", "params.lr", "params.w",
            "objective.forget_gap", "objective.retain_gap", "ua", "ua_std", "error"} <= set(df.columns)
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
    assert study.front(by="overall")["hv"] > 0
    everything = study.front(by="all")  # what `paretoul front --json` prints, less the comparisons
    assert {"arms", "methods", "searchers", "overall", "normalisation"} <= set(everything)
    assert everything["arms"] == arms
    with pytest.raises(paretoul.UserError, match="by: 'colour'"):
        study.front(by="colour")

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

    monkeypatch.setenv("PARETOUL_CACHE", str(shared.cache))
    exported = study.export(choice, tmp_path / "model.pt")
    assert exported["max_abs_difference"] <= exported["tolerance"]
    model = paretoul.load_model(tmp_path / "model.pt")
    assert model(torch.zeros(1, 1, 8, 8)).shape == (1, 10)

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
