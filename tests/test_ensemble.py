"""Many models at once (:mod:`paretoul.training.ensemble`) against the one-by-one path."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from paretoul.data import load_dataset, make_splits
from paretoul.errors import UnlearningDiverged
from paretoul.models import build_model
from paretoul.training import Job, Recipe, groupable, sgd_train, sgd_train_many
from paretoul.training.ensemble import GroupedMLP


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits")
    splits = [make_splits(data.train_y.numpy(), len(data.test_y), "random:0.1", seed=s)
              for s in range(3)]
    return data, splits


def _jobs(data, index_sets, model="mlp") -> list[Job]:
    return [Job(build_model(model, data.input_shape, data.num_classes, seed=100 + i), idx, i, f"t:{i}")
            for i, idx in enumerate(index_sets)]


def _alone(data, index_sets, recipe, model="mlp"):
    """The reference: each model trained by ``sgd_train`` on its own, single-threaded."""
    with _threads(1):
        models = [build_model(model, data.input_shape, data.num_classes, seed=100 + i)
                  for i in range(len(index_sets))]
        traces = [sgd_train(m, data, idx, recipe, i, f"t:{i}").trace["loss"]
                  for i, (m, idx) in enumerate(zip(models, index_sets, strict=True))]
    return models, traces


RECIPE = Recipe(epochs=3, lr=0.05, batch_size=64, schedule="cosine")


@pytest.mark.parametrize("threads", [1, 2])
def test_a_group_ends_bit_for_bit_where_each_model_alone_ends(digits, threads) -> None:
    data, splits = digits
    sets = [s.retain for s in splits]  # same size, different members, different orders
    assert len({len(s) for s in sets}) == 1
    ref, ref_traces = _alone(data, sets, RECIPE)
    jobs = _jobs(data, sets)
    with _threads(threads):
        results = sgd_train_many(jobs, data, RECIPE)
    for job, model, res, trace in zip(jobs, ref, results, ref_traces, strict=True):
        for (name, a), b in zip(job.model.state_dict().items(), model.state_dict().values(),
                                strict=True):
            assert torch.equal(a, b), name
        assert res.trace["loss"] == trace
        assert not job.model.training


def test_an_mlp_alone_is_the_same_bits_at_any_thread_count(digits) -> None:
    data, splits = digits
    ends = []
    for threads in (1, 2):
        model = build_model("mlp", data.input_shape, data.num_classes, seed=7)
        with _threads(threads):
            sgd_train(model, data, splits[0].retain, RECIPE, 0, "t:0")
            assert torch.get_num_threads() == threads  # restored
        ends.append(model.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(ends[0].values(), ends[1].values(), strict=True))


def test_the_group_trains_each_member_on_its_own_batches(digits) -> None:
    data, splits = digits
    sets = [splits[0].retain, splits[0].retain]
    jobs = [Job(build_model("mlp", data.input_shape, data.num_classes, seed=100), idx, i, f"t:{i}")
            for i, idx in enumerate(sets)]
    sgd_train_many(jobs, data, RECIPE)
    # same init, same set, other order stream: the members must end apart
    assert not torch.equal(jobs[0].model[1].weight, jobs[1].model[1].weight)


def test_sets_of_other_sizes_and_other_models_train_alone(digits) -> None:
    data, splits = digits
    sets = [splits[0].retain, splits[0].train, splits[1].retain]
    ref, _ = _alone(data, sets, RECIPE)
    jobs = _jobs(data, sets)
    with _threads(1):
        sgd_train_many(jobs, data, RECIPE)
    for job, model in zip(jobs, ref, strict=True):
        assert all(torch.equal(a, b) for a, b in zip(job.model.parameters(), model.parameters(),
                                                      strict=True))
    cnn = build_model("cnn", data.input_shape, data.num_classes, seed=0)
    assert groupable(build_model("mlp", data.input_shape, data.num_classes))
    assert not groupable(cnn)  # BatchNorm buffers
    with pytest.raises(ValueError, match="one Flatten/Linear/ReLU architecture"):
        GroupedMLP([build_model("mlp", data.input_shape, data.num_classes), cnn])


def test_batched_false_is_the_one_by_one_path(digits) -> None:
    data, splits = digits
    sets = [s.retain for s in splits[:2]]
    ref, traces = _alone(data, sets, RECIPE)
    jobs = _jobs(data, sets)
    with _threads(1):
        results = sgd_train_many(jobs, data, RECIPE, batched=False)
    assert [r.trace["loss"] for r in results] == traces
    assert torch.equal(jobs[1].model[5].weight, ref[1][5].weight)


def test_a_diverging_member_names_itself(digits) -> None:
    data, splits = digits
    sets = [s.retain for s in splits[:2]]
    jobs = _jobs(data, sets)
    with torch.no_grad():
        jobs[1].model[1].weight.fill_(np.inf)
    with pytest.raises(UnlearningDiverged, match="loss of member 1"):
        sgd_train_many(jobs, data, RECIPE)


def test_prepare_trains_the_seeds_together_as_it_trains_each_alone(tmp_path) -> None:
    import paretoul
    from paretoul.artefacts import prepare

    recipe = {"epochs": 2}
    setting = paretoul.Setting("digits", "mlp", "random:0.1", recipe=recipe, device="cpu")
    together = prepare(setting, [3, 4], cache_dir=tmp_path / "a")
    with _threads(1):
        alone = [paretoul.prepare(setting, [s], cache_dir=tmp_path / "b")[0] for s in (3, 4)]
    for a, b in zip(together, alone, strict=True):
        assert a.seed == b.seed and a.splits.checksum() == b.splits.checksum()
        for kind in ("original", "oracle"):
            ta, tb = getattr(a, kind), getattr(b, kind)
            assert ta.cache_status == tb.cache_status == "miss" and ta.cache_key == tb.cache_key
            for x, y in zip(ta.model.state_dict().values(), tb.model.state_dict().values(),
                            strict=True):
                assert torch.equal(x, y)
    again = prepare(setting, [3, 4], cache_dir=tmp_path / "a")
    assert all(t.cache_status == "hit" for art in again for t in (art.original, art.oracle))
    meta = json.loads(next((tmp_path / "a" / "oracle").glob("*.json")).read_text())["meta"]
    assert meta["trained_with"] == 2
