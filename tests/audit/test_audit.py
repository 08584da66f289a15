"""``paretoul audit`` end to end on digits (in-process; the Ray path is tested on a study trial
in tests/pareto/test_validation.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paretoul.audit.challenge import audit
from paretoul.cli import main


def test_an_audit_of_a_retrain_on_digits(tmp_path, capsys) -> None:
    r = audit(method="retrain", models=3, local=True, cache_dir=str(tmp_path / "cache"), quiet=True)
    n = r["forget_examples"]
    assert n > 100 and sum(h["examples"] for h in r["histogram"]) == n
    assert 0 <= r["forget_quality"] <= 1 and r["max_epsilon"] == 1.0  # ceil(ln 2) with N = 3
    assert r["final_score"] == pytest.approx(r["forget_quality"] * r["ratios"]["ra"] * r["ratios"]["ta"])
    acc = r["accuracy"]
    assert len(acc["retrain"]["ta"]["per_model"]) == 3 and len(acc["unlearn"]["ra"]["per_model"]) == 3
    # the retrains are independent models (own init and batch order), cached by content
    assert len(set(acc["retrain"]["ta"]["per_model"])) > 1
    again = audit(method="retrain", models=3, local=True, cache_dir=str(tmp_path / "cache"),
                  quiet=True)
    assert again["accuracy"] == r["accuracy"] and again["forget_quality"] == r["forget_quality"]
    assert again["train_seconds"]["retrain"] < r["train_seconds"]["retrain"]  # from the cache
    # an audit of retrain is the noise floor of its setting, seed and N: kept for other audits
    assert r["floor"] == {"forget_quality": r["forget_quality"], "final_score": r["final_score"],
                          "mean_epsilon": r["mean_epsilon"], "models": 3, "source": "this audit"}
    ft = audit(method="ft", params={"epochs": 1}, models=3, local=True,
               cache_dir=str(tmp_path / "cache"), quiet=True)
    assert ft["floor"] == {**r["floor"], "source": "cache"}
    other_seed = audit(method="ft", params={"epochs": 1}, models=3, seed=1, local=True,
                       cache_dir=str(tmp_path / "cache"), quiet=True)
    assert other_seed["floor"] is None  # another setting's floor is not borrowed


def test_the_cli_refuses_bad_input_in_one_line(capsys) -> None:
    assert main(["audit", "--models", "2", "--local"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("paretoul: error: models: 2: give at least 3") and "\n" not in err
    assert main(["audit", "--trial", "ft#0"]) == 2
    assert "--trial needs a study directory" in capsys.readouterr().err


def test_the_cli_prints_the_score(tmp_path, capsys) -> None:
    argv = ["audit", "--method", "ft", "--param", "epochs=2", "--models", "3", "--local",
            "--cache-dir", str(tmp_path / "cache")]
    assert main([*argv, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["config"]["method"] == "ft" and r["config"]["params"]["epochs"] == 2
    assert np.isfinite(r["mean_epsilon"])
    assert r["floor"] is None
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "forget quality" in text and "epsilon histogram" in text
    assert "noise floor at N = 3: not measured for this setting (add --floor" in text
    assert "0 means an attack tells the two sides apart on every forget example" in text
    assert main([*argv, "--floor", "--json"]) == 0  # measured now: 3 more retrains
    r = json.loads(capsys.readouterr().out)
    assert r["floor"]["source"] == "measured" and 0 <= r["floor"]["forget_quality"] <= 1
    assert main(argv) == 0  # and from then on read from the cache
    text = capsys.readouterr().out
    assert (f"noise floor at N = 3 (retrain vs retrains, from the cache): forget quality "
            f"{r['floor']['forget_quality']:.4f}") in text


def test_an_untouched_original_is_audited_against_retrains_trained_together(tmp_path, capsys) -> None:
    cache = tmp_path / "cache"
    r = audit(models=3, local=True, cache_dir=str(cache), quiet=True, untouched=True,
              recipe={"epochs": 5})
    assert r["untouched"] and r["config"]["method"] == "original (untouched)"
    unl, ret = r["accuracy"]["unlearn"], r["accuracy"]["retrain"]
    assert len(set(unl["forget_acc"]["per_model"])) == 1  # N copies of the one original
    assert unl["forget_acc"]["mean"] > ret["forget_acc"]["mean"]  # the original remembers
    metas = [json.loads(p.read_text())["meta"] for p in cache.glob("retrain-*/*.json")]
    assert len(metas) == 3 and all(m["trained_with"] == 3 for m in metas)
    assert main(["audit", str(tmp_path), "--untouched"]) == 2
    assert "untouched: --untouched audits the original" in capsys.readouterr().err
