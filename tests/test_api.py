"""The notebook API, as a notebook uses it: launch a small study from a dict, reopen it with
``open_study``, and call every :class:`paretoul.Study` method (real Ray, real SQLite)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import paretoul

SPEC = {
    "name": "nb",
    "dataset": "digits",
    "forget": "random:0.1",
    "seeds": [0, 1],
    "arms": [
        {"name": "jd", "method": "raul", "searcher": {"type": "optuna", "sampler": "tpe",
                                                      "startup_trials": 2},
         "budget": 3, "fixed": {"epochs": 1, "reference": "uniform"}, "search": ["lr"]},
        {"name": "fw", "method": "scalarized", "searcher": {"type": "optuna", "sampler": "tpe",
                                                             "startup_trials": 2},
         "budget": 3, "fixed": {"epochs": 1, "reference": "uniform"}, "search": ["w", "lr"]},
    ],
    "comparisons": [{"name": "uniform", "jd": "jd", "fixed": "fw"}],
}


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb")
    mine = {**SPEC, "arms": [dict(a) for a in SPEC["arms"]]}
    study = paretoul.launch_study(mine, tmp / "study", cache_dir=tmp / "cache", quiet=True)
    assert mine == {**SPEC, "arms": [dict(a) for a in SPEC["arms"]]}  # the caller's dict untouched
    return study, tmp


def test_launch_returns_the_study_with_its_summary_and_report(launched) -> None:
    study, tmp = launched
    assert isinstance(study, paretoul.Study) and study.name == "nb"
    assert study.summary["complete"] and study.summary["report"].endswith("report.html")
    assert (tmp / "study" / "report" / "report.html").is_file()


def test_open_study_and_every_method(launched, tmp_path, monkeypatch) -> None:
    _, tmp = launched
    study = paretoul.open_study(tmp / "study")
    assert study.summary is None and repr(study) == f"Study('nb', '{tmp / 'study'}')"
    status = study.status()
    assert status["complete"] and {a["arm"] for a in status["arms"]} == {"jd", "fw"}

    df = study.trials_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == 6
    assert {"key", "arm", "method", "searcher", "state", "params.lr", "params.w",
            "objective.forget_gap", "objective.retain_gap", "ua", "ua_std", "error"} <= set(df.columns)
    assert set(df["method"]) == {"raul", "scalarized"} and (df["state"] == "complete").all()
    assert (df["ua_std"] >= 0).all()  # sample std over the 2 seeds

    arms = study.front()
    assert set(arms) == {"jd", "fw"} and all(a["front"] for a in arms.values())
    assert set(study.front(by="method")) == {"raul", "scalarized"}
    assert study.front(by="overall")["hv"] > 0
    everything = study.front(by="all")  # what `paretoul front --json` prints, less the comparisons
    assert {"arms", "methods", "searchers", "overall", "normalisation"} <= set(everything)
    assert everything["arms"] == arms
    with pytest.raises(paretoul.UserError, match="by: 'colour'"):
        study.front(by="colour")

    verdict = study.compare()
    assert [c["name"] for c in verdict["comparisons"]] == ["uniform"]  # the declared pair

    choice = study.choose("knee")
    assert choice.record.key in set(df["key"])
    assert choice.measured is not None and choice.measured["on"] == "search"  # no validation yet
    as_json = choice.to_dict()
    assert as_json["search"]["seeds"] == as_json["seeds"] == [0, 1]
    with pytest.raises(paretoul.UserError, match=r"on: .* no validation"):
        study.choose("knee", on="validation")
    assert study.choose("weights", weights=[1.0, 0.0]).rule == "weights"

    monkeypatch.setenv("PARETOUL_CACHE", str(tmp / "cache"))
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


def test_resume_of_a_complete_study_runs_nothing(launched) -> None:
    _, tmp = launched
    again = paretoul.resume_study(tmp / "study", cache_dir=tmp / "cache", quiet=True)
    assert again.summary["already_complete"]
