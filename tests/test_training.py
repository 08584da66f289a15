"""The original model and the retrain oracle on digits with the default recipe."""

from __future__ import annotations

import numpy as np
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
    again = paretoul.prepare(paretoul.Setting("digits", "mlp", "random:0.1", device="cpu"), [0],
                             cache_dir=cache_dir)[0]
    assert again.original.cache_status == "hit" and again.oracle.cache_status == "hit"
    for a, b in zip(digits_art.original.model.parameters(), again.original.model.parameters(),
                    strict=True):
        assert torch.equal(a, b)


def test_training_is_deterministic_on_cpu(tmp_path) -> None:
    runs = [
        paretoul.prepare(paretoul.Setting("digits", "mlp", "random:0.1", recipe={"epochs": 3},
                                          device="cpu"), [5], cache_dir=tmp_path / str(i))[0]
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


def _tiny_loop_parts(n: int = 64, bs: int = 8):
    from paretoul.data.base import DataBundle
    from paretoul.streams import torch_stream
    from paretoul.training import OnePass, Source

    x = torch.randn(n, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (n,), generator=torch.Generator().manual_seed(1))
    data = DataBundle("t", x, y, x[:4], y[:4], 3, False)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    sched = OnePass(Source(data, np.arange(n), bs, torch_stream(0, "t")), "retain")
    return model, sched


def test_time_limit_stops_the_loop_at_a_step_boundary() -> None:
    import time

    import pytest

    from paretoul.errors import TrialTimeout
    from paretoul.training import Optimiser, time_limit, train_loop, weighted_backward

    model, sched = _tiny_loop_parts()
    calls: list[int] = []
    steps_done: list[int] = []

    def losses(m, b, progress):
        calls.append(1)
        if len(calls) == 3:
            time.sleep(1.2)  # the third step runs past the 1 s limit
        x, y = b["retain"]
        return {"loss": torch.nn.functional.cross_entropy(m(x), y)}

    def ce(m, b, progress):
        return {"loss": torch.nn.functional.cross_entropy(m(b["retain"][0]), b["retain"][1])}

    # Outside a time_limit block there is no limit: the loop runs to its end (and this first run
    # pays torch's one-off optimiser set-up, about 2 s here, before the timed run below).
    train_loop(model, sched, ce, weighted_backward({"loss": 1.0}), 2, Optimiser(0.1), "t")
    with time_limit(1.0), pytest.raises(TrialTimeout):
        train_loop(model, sched, losses, weighted_backward({"loss": 1.0}), 100,
                   Optimiser(0.1), "t", after_step=lambda opt: steps_done.append(1))
    # the step that crossed the limit finished (optimiser stepped); the next one never began
    assert len(calls) == len(steps_done) == 3


def test_a_non_finite_loss_stops_the_run_at_the_end_of_its_epoch() -> None:
    import pytest

    from paretoul.training import Optimiser, train_loop, weighted_backward

    model, sched = _tiny_loop_parts()
    calls: list[int] = []

    def losses(m, b, progress):
        calls.append(1)
        x, y = b["retain"]
        loss = torch.nn.functional.cross_entropy(m(x), y)
        return {"loss": loss * (float("nan") if len(calls) == 3 else 1.0)}

    with pytest.raises(paretoul.UnlearningDiverged, match=r"t \(loss\): loss became NaN/inf in epoch 1"):
        train_loop(model, sched, losses, weighted_backward({"loss": 1.0}), 5, Optimiser(0.1), "t")
    assert len(calls) == sched.steps(0)  # the flag is read once, at the end of the epoch

    def failing_combine(named):
        raise ValueError("solver failed")  # e.g. an aggregator's QP on a NaN Jacobian

    calls.clear()
    with pytest.raises(paretoul.UnlearningDiverged) as e:
        train_loop(model, sched, lambda m, b, p: {"loss": torch.tensor(float("inf"))},
                   failing_combine, 5, Optimiser(0.1), "t")
    assert isinstance(e.value.__cause__, ValueError)


def test_original_and_oracle_draw_from_their_own_streams(digits_art) -> None:
    # Same recipe and seed, different purposes: the oracle does not replay the original's
    # batch order (paretoul/README.md, Random streams: independent streams), yet each is deterministic.
    from paretoul.streams import stream_seed, torch_stream

    assert stream_seed(0, "train:original:order") != stream_seed(0, "train:oracle:order")
    a = torch.randperm(100, generator=torch_stream(0, "train:original:order"))
    b = torch.randperm(100, generator=torch_stream(0, "train:oracle:order"))
    assert not torch.equal(a, b)
    assert torch.equal(a, torch.randperm(100, generator=torch_stream(0, "train:original:order")))
