"""Several seeds' unlearning as one grouped model (``unlearn_and_evaluate_many``): for every
registered method, each seed ends bit-identical to its lone run, at 1 and 2 threads; the
methods that declare ``groups`` really step together; errors surface as a lone run's do."""

from __future__ import annotations

import functools
import threading

import pytest
import torch

import paretoul
from paretoul import METHODS, UnlearningDiverged, get_method
from paretoul.methods import UnlearnContext
from paretoul.methods.together import unlearn_together
from paretoul.one_run import unlearn_and_evaluate, unlearn_and_evaluate_many

ALL = METHODS.names()
CASES = [(name, {"epochs": 1} if "epochs" in get_method(name).Config.field_names() else {})
         for name in ALL]
CASES += [("raul", {"epochs": 1, "w": 0.3}), ("raul", {"epochs": 1, "aggregator": "mgda"}),
          ("rl", {"epochs": 1, "schedule": "paired"}), ("neggrad_plus", {"epochs": 1, "probe_every": 2})]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    setting = paretoul.Setting("digits", "mlp", "random:0.1", device="cpu")
    return paretoul.prepare(setting, [0, 1, 2], cache_dir=tmp_path_factory.mktemp("c"))


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


def _same(a, b) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa) and a.trace == b.trace and (
        {k: v for k, v in a.metrics.items() if k != "rte"}
        == {k: v for k, v in b.metrics.items() if k != "rte"})


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_each_grouped_seed_is_bit_identical_to_its_lone_run(seeds, threads, name, params) -> None:
    threads(2)
    lone = [unlearn_and_evaluate(a, name, params) for a in seeds]
    for n in (1, 2):
        threads(n)
        grouped = unlearn_and_evaluate_many(seeds, name, params, group=True)
        assert [_same(a, b) for a, b in zip(lone, grouped, strict=True)] == [True] * len(seeds), n
    assert torch.get_num_threads() == 2


def _together(seeds, name, params):
    m = get_method(name)
    cfg = m.config(params)
    models = [a.original_copy() for a in seeds]
    ctxs = [UnlearnContext(a.data, a.splits, a.recipe, a.seed, a.new_model) for a in seeds]
    return unlearn_together([functools.partial(m.unlearn, model, ctx, cfg)
                             for model, ctx in zip(models, ctxs, strict=True)], models[0])


@pytest.mark.parametrize("name", [n for n in ALL if get_method(n).groups])
def test_a_method_that_declares_groups_steps_together(seeds, name) -> None:
    results, why = _together(seeds, name, {"epochs": 1})
    assert why is None and len(results) == len(seeds)


def test_what_cannot_step_together_runs_member_by_member_and_says_why(seeds) -> None:
    _, why = _together(seeds, "salun", {"epochs": 1})
    assert why == "an after-step hook (per member)"
    _, why = _together(seeds, "neggrad_plus", {"epochs": 1, "probe_every": 1})
    assert why == "a combine rule that declares no grouped form"


def _members_alive() -> int:
    from paretoul.methods.together import THREAD_NAME

    return sum(t.name == THREAD_NAME and t.is_alive() for t in threading.enumerate())


def test_a_diverging_group_raises_as_a_lone_run_does_and_leaves_no_thread(seeds) -> None:
    with pytest.raises(UnlearningDiverged, match="NaN"):
        unlearn_and_evaluate_many(seeds, "ga", {"epochs": 2, "lr": 1e30}, group=True)
    with pytest.raises(UnlearningDiverged, match="NaN"):
        unlearn_and_evaluate(seeds[0], "ga", {"epochs": 2, "lr": 1e30})
    assert _members_alive() == 0


def test_a_member_error_before_its_loop_is_raised(seeds, monkeypatch) -> None:
    """An error in one seed's own code (here: its reference set is empty) is the group's."""
    calls = []
    m = get_method("raul")
    original = type(m).unlearn

    def failing(self, model, ctx, config):
        calls.append(ctx.seed)
        if ctx.seed == 1:
            raise paretoul.UserError("param.reference", "no reference set")
        return original(self, model, ctx, config)

    monkeypatch.setattr(type(m), "unlearn", failing)
    with pytest.raises(paretoul.UserError, match="no reference set"):
        unlearn_and_evaluate_many(seeds, "raul", {"epochs": 1}, group=True)
    assert calls == [0, 1] and _members_alive() == 0


def test_at_one_thread_only_a_small_model_groups(seeds, threads, monkeypatch) -> None:
    """Grouping is a speed choice (the bits are the same): at one thread it is taken for a model
    of at most GROUP_ONE_THREAD_MAX_PARAMS parameters, at two threads for any."""
    import paretoul.methods.together as together
    import paretoul.one_run as one_run

    grouped = []
    real = together.unlearn_together
    monkeypatch.setattr(together, "unlearn_together",
                        lambda *a, **k: grouped.append(1) or real(*a, **k))
    threads(1)
    unlearn_and_evaluate_many(seeds, "ga", {"epochs": 1})
    assert grouped == [1]  # digits' mlp: 85k parameters
    monkeypatch.setattr(one_run, "GROUP_ONE_THREAD_MAX_PARAMS", 1000)
    unlearn_and_evaluate_many(seeds, "ga", {"epochs": 1})
    assert grouped == [1]
    threads(2)
    unlearn_and_evaluate_many(seeds, "ga", {"epochs": 1})
    assert grouped == [1, 1]
