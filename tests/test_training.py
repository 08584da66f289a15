"""The original model and the retrain oracle on digits with the default recipe."""

from __future__ import annotations

import torch

import paretoul
from paretoul.metrics import evaluate


def test_oracle_generalises_to_forget_and_original_memorises(digits_art) -> None:
    oracle = evaluate(digits_art.oracle_context)
    original = evaluate(digits_art.original_context)
    oracle_forget_acc = 100 - oracle["ua"]
    assert abs(oracle_forget_acc - oracle["ta"]) <= 3.0
    assert 100 - original["ua"] > oracle_forget_acc
    assert original["ta"] > 90 and oracle["ta"] > 90


def test_second_prepare_hits_the_cache_and_gives_the_same_weights(digits_art, cache_dir) -> None:
    again = paretoul.prepare("digits", "mlp", "random:0.1", seed=0, device="cpu",
                             cache_dir=cache_dir)
    assert again.original.cache_status == "hit" and again.oracle.cache_status == "hit"
    for a, b in zip(digits_art.original.model.parameters(), again.original.model.parameters(),
                    strict=True):
        assert torch.equal(a, b)


def test_training_is_deterministic_on_cpu(tmp_path) -> None:
    runs = [
        paretoul.prepare("digits", "mlp", "random:0.1", seed=5, device="cpu",
                         cache_dir=tmp_path / str(i), recipe={"epochs": 3})
        for i in range(2)
    ]
    assert runs[0].original.cache_status == runs[1].original.cache_status == "miss"
    for a, b in zip(runs[0].oracle.model.parameters(), runs[1].oracle.model.parameters(),
                    strict=True):
        assert torch.equal(a, b)


def test_oracle_is_trained_on_retain_and_original_on_the_train_part(digits_art, cache_dir) -> None:
    # The cache sidecars record the exact index sets each model was trained on.
    import json

    from paretoul.artefacts import _index_digest

    art = digits_art
    for kind, key, idx in (("original", art.original.cache_key, art.splits.train),
                           ("oracle", art.oracle.cache_key, art.splits.retain)):
        spec = json.loads((cache_dir / kind / f"{key}.json").read_text())["spec"]
        assert spec["indices"] == _index_digest(idx) and spec["n"] == len(idx)
    assert len(art.splits.train) == len(art.splits.forget) + len(art.splits.retain)


def test_recipe_validation() -> None:
    import pytest

    with pytest.raises(paretoul.UserError, match=r"recipe\.lr"):
        paretoul.Recipe(lr=-1)
    with pytest.raises(paretoul.UserError, match=r"recipe\.schedule"):
        paretoul.Recipe(schedule="linear")
    with pytest.raises(paretoul.UserError, match=r"recipe\.epochz"):
        paretoul.Recipe().with_overrides(epochz=3)
