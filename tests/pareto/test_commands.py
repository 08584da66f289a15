"""front / plot / choose / report on a real study (the shared one, with failed trials), on a
single-trial study (no Ray), and on bad directories; export reproduces the recorded metrics."""

from __future__ import annotations

import json
import re

import pytest
import torch

import paretoul
from paretoul.cli import main
from tests.shared_study import FAILED


@pytest.fixture
def study(shared_study):
    return shared_study.out, shared_study.cache  # the API wrote the report at launch


def test_launch_wrote_the_report(study) -> None:
    out, _ = study
    html = (out / "report" / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4
    for name in ("pareto_scatter", "hv_history", "jd_vs_fixed", "jd_weights", "method_bars",
                 "paired_w", "gradient_conflict"):
        assert (out / "report" / f"{name}.png").stat().st_size > 1000
        assert (out / "report" / f"{name}.svg").exists()
    md = (out / "report" / "report.md").read_text()
    assert "Jacobian descent vs fixed weights" in md and "| raul |" in md
    assert "Design: paired by w." in md and "Design: unpaired." in md and "| w | forget_gap: JD" in md
    assert "cos (conflict share)" in md and "Against the untouched original" in md
    # the fidelity arm: 3 configurations, the best third went on to the second seed
    assert "| ga-halving | 1, 2 | 3 | rank | asynchronous | 3 | 2 after 1 seed | 1 | 0 |" in md
    # real Markdown rendering: tables, emphasis and code become HTML, nothing prints literally
    assert "<table>" in html and "<td>raul</td>" in html
    body = html.split("<body>", 1)[1]
    text = re.sub(r"<pre>.*?</pre>", "", body, flags=re.S)
    assert "**" not in text and "`" not in text and "| raul |" not in text
    settings = re.search(r'<pre><code class="language-yaml">(.*?)</code></pre>', body, re.S)
    assert settings is not None and settings.group(1).count("\n") >= 5  # one setting per line
    assert "name: small\n" in settings.group(1)
    assert "trial_grace_s: 30.0" in settings.group(1)  # a default too: the full resolved spec


def test_front_text_shows_arms_methods_searchers_and_overall_with_trial_ids(study, capsys) -> None:
    out, _ = study
    assert main(["front", str(out)]) == 0
    text = capsys.readouterr().out
    assert "front points: trial (forget_gap, retain_gap)" in text
    # the HV reference in objective units, rounded, named, with the HV's scale
    assert re.search(r"HV reference point forget_gap \d+(\.\d+)?, retain_gap \d+(\.\d+)? \(", text)
    assert "an HV is at most 1.1 x 1.1 = 1.21" in text and "['" not in text
    for section in ("\narms:\n", "\nmethods:\n", "\nsearchers:\n", "\noverall: HV "):
        assert section in text
    assert re.search(r"sc-grid#\d+ \(\d+\.\d\d, \d+\.\d\d\)", text)
    methods = text.split("\nmethods:\n")[1].split("\nsearchers:\n")[0]
    assert re.search(r"^  scalarized\s+HV", methods, re.M) and re.search(r"^  raul\s+HV", methods, re.M)


def test_front_json(study, capsys) -> None:
    out, _ = study
    assert main(["front", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trials"]["failed"] == sum(FAILED.values())  # the diverging and crashing arms
    assert set(data["arms"]) >= {"raul-nsga2", "sc-grid", "ft-pymoo", "ga-random"}
    assert 0 < data["overall"]["hv"] <= 1.1 ** 2
    assert set(data["original"]) == {"forget_gap", "retain_gap"}  # the do-nothing point
    assert 0 <= data["overall"]["dominated_by_original"] <= len(data["overall"]["front"])
    comparisons = data["comparisons"]
    assert comparisons["pairing"]["made"] == ["raul-nsga2 vs sc-match", "jd vs fw", "jd-w vs fw-w"]
    assert set(comparisons["pairing"]["left_out"]) == {"sc-grid"}
    c = comparisons["comparisons"][0]
    assert len(comparisons["comparisons"]) == 3
    assert c["seeds"] == 2 and c["winner"] is None and "too few seeds" in c["verdict"]
    assert main(["front", str(out)]) == 0
    text = capsys.readouterr().out
    assert "HV" in text and ("paired automatically where arms match: raul-nsga2 vs sc-match, "
                             "jd vs fw, jd-w vs fw-w" in text)


def test_compare_prints_each_comparison_and_its_json(study, capsys) -> None:
    out, _ = study
    assert main(["compare", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    c, replicated, paired = data["comparisons"]
    assert replicated["sides"] == {"jd": ["jd"], "fixed": ["fw"]}
    assert c["design"] == replicated["design"] == "unpaired" and paired["design"] == "paired by w"
    assert c["sides"] == {"jd": ["raul-nsga2"], "fixed": ["sc-match"]}
    assert c["full_budget"]["trials"] == {"jd": 4, "fixed": 2}
    assert c["equal_budget"]["trials"] == {"jd": 2, "fixed": 2}
    assert len(c["full_budget"]["hv_difference_per_seed"]) == 2
    assert main(["compare", str(out)]) == 0
    text = capsys.readouterr().out
    assert "left out sc-grid: arms 'raul-nsga2' and 'sc-grid' differ in lr" in text
    assert "reference point forget_gap" in text


def test_a_comparison_paired_by_w_gives_per_w_differences_and_no_winner_on_two_seeds(study, capsys
                                                                                    ) -> None:
    """jd-w and fw-w grid w over 0.2, 0.5, 0.8 on seeds 0 and 1: per w, each objective's and Avg.
    Gap's per-seed JD - fixed differences (recomputed here from the trials' own per-seed metrics),
    their mean and bootstrap interval, and no winner (fewer than 5 seeds)."""
    out, _ = study
    assert main(["compare", str(out), "--json"]) == 0
    (c,) = [c for c in json.loads(capsys.readouterr().out)["comparisons"] if c["name"] == "jd-w vs fw-w"]
    p = c["paired"]
    assert p["by"] == ["w"] and [pt["point"]["w"] for pt in p["points"]] == [0.2, 0.5, 0.8]
    records = {r.key: r for r in paretoul.open_study(out).data().finished()}
    for pt in p["points"]:
        jd, fixed = records[pt["jd_trial"]], records[pt["fixed_trial"]]
        assert jd.arm == "jd-w" and fixed.arm == "fw-w" and jd.params["w"] == fixed.params["w"]
        assert pt["seeds"] == [0, 1]
        for m in ("forget_gap", "retain_gap", "avg_gap"):
            f = pt["figures"][m]
            want = [a[m] - b[m] for a, b in zip(jd.metrics_per_seed, fixed.metrics_per_seed, strict=True)]
            assert f["difference_per_seed"] == pytest.approx(want)
            assert f["difference"] == pytest.approx(sum(want) / 2)
            lo, hi = f["difference_95"]
            assert lo <= f["difference"] <= hi and f["winner"] is None
        assert set(pt["conflict"]["jd"]) == set(pt["conflict"]["fixed"]) == {"grad_cos", "grad_conflict"}
    assert p["summary"]["avg_gap"]["jd_better"] == p["summary"]["avg_gap"]["fixed_better"] == 0
    assert "fewer than 5" in p["summary"]["avg_gap"]["note"]
    assert c["winner"] is None and c["verdict"].startswith("jd-w vs fw-w: paired by w at 3 values")
    for side in ("jd", "fixed"):
        o = c["full_budget"]["original"][side]
        assert o["dominated_by_original"][1] == 3 and o["hv_gain_over_original"] >= 0
    assert c["original_point"] is not None


@pytest.mark.parametrize("argv", [["--rule", "knee"], ["--rule", "compromise", "--p", "1"],
                                  ["--rule", "weights", "--weights", "1,3"],
                                  ["--rule", "closest-to-retrain"], ["--rule", "oracle-free"],
                                  ["--rule", "constrained", "--max-retain-drop", "50"]])
def test_every_rule_chooses(study, capsys, argv) -> None:
    out, _ = study
    assert main(["choose", str(out), *argv, "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert c["arm"] not in FAILED and c["reason"]


def test_export_reproduces_recorded_metrics(study, tmp_path, capsys, monkeypatch) -> None:
    out, cache = study
    unused = tmp_path / "unused-cache"
    monkeypatch.setenv("PARETOUL_CACHE", str(unused))  # --cache-dir holds the study's original
    target = tmp_path / "model.pt"
    assert main(["choose", str(out), "--rule", "closest-to-retrain", "--export", str(target),
                 "--seed", "1", "--cache-dir", str(cache)]) == 0
    assert not unused.exists()
    side = json.loads(target.with_suffix(".pt.json").read_text())
    assert side["seed"] == 1 and side["max_abs_difference"] <= side["tolerance"]
    state = torch.load(target, weights_only=True)
    assert state and all(torch.is_tensor(v) for v in state.values())
    # the sidecar says how to rebuild it: paretoul.load_model gives the model, ready to predict
    assert side["model"] == "mlp" and side["input_shape"] == [1, 8, 8] and side["num_classes"] == 10
    assert side["normalisation"] == {"divide_by": 16.0, "mean": [0.5], "std": [0.5]}
    from paretoul.data import load_dataset

    model = paretoul.load_model(target)
    assert not model.training
    data = load_dataset("digits")
    with torch.no_grad():
        acc = (model(data.test_x).argmax(1) == data.test_y).float().mean().item() * 100
    assert acc == pytest.approx(side["metrics"]["ta"], abs=1e-4)  # float32 mean here
    raw = torch.tensor(__import__("sklearn.datasets").datasets.load_digits().images[:1],
                       dtype=torch.float32).unsqueeze(1)  # raw pixels, prepared as the sidecar says
    n = side["normalisation"]
    assert model((raw / n["divide_by"] - n["mean"][0]) / n["std"][0]).shape == (1, 10)
    with pytest.raises(paretoul.UserError, match=r"path: .*not found"):
        paretoul.load_model(tmp_path / "nothing.pt")


def test_export_path_may_not_escape(study, tmp_path, capsys, monkeypatch) -> None:
    out, _ = study
    monkeypatch.chdir(tmp_path)
    assert main(["choose", str(out), "--export", "../escape.pt"]) == 2
    assert "export" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["front", "plot", "choose", "report"])
def test_bad_directories_are_one_line(tmp_path, capsys, cmd) -> None:
    assert main([cmd, str(tmp_path / "missing")]) == 2
    assert "no such study directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([cmd, str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip()
    assert "holds no study" in err and err.count("\n") == 0


def test_a_study_without_its_database_is_one_line(study, tmp_path, capsys) -> None:
    out, _ = study
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "spec.yaml").write_text((out / "spec.yaml").read_text())
    assert main(["front", str(copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert "holds no results database" in err and err.count("\n") == 0


def test_spec_reference_point_is_used(study, capsys) -> None:
    from paretoul.pareto.summary import summarise_fronts
    from paretoul.study.storage.records import load_study_data

    out, _ = study
    data = load_study_data(out)
    base = summarise_fronts(data)
    wide = summarise_fronts(data, hv_reference=[200.0, 200.0])
    assert wide["normalisation"]["reference_point"] == pytest.approx([200.0, 200.0])
    assert wide["overall"]["hv"] > base["overall"]["hv"]


def test_report_names_the_oracle_free_choice(study) -> None:
    out, _ = study
    assert "Without an oracle" in (out / "report" / "report.md").read_text()
