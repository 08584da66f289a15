"""The contract every registered unlearning method must pass, on tiny data, on the CPU."""

from __future__ import annotations

import math
import random

import pytest
import torch

import paretoul
from paretoul import METHODS, UnlearningDiverged, get_method
from paretoul.methods import UnlearnContext

ALL = METHODS.names()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    setting = paretoul.Setting("digits", "mlp", "random:0.1", recipe={"epochs": 3}, device="cpu")
    return paretoul.prepare(setting, [0], cache_dir=tmp_path_factory.mktemp("c"))[0]


def _ctx(art) -> UnlearnContext:
    return UnlearnContext(art.data, art.splits, art.recipe, art.seed, art.new_model)


def _quick(name: str) -> dict:
    cfg = get_method(name).config().to_dict()
    return {"epochs": 1} if "epochs" in cfg else {}


def _params(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("name", ALL)
def test_parameters_change(tiny, name: str) -> None:
    m = get_method(name)
    before = _params(tiny.original.model)
    res = m.unlearn(tiny.original_copy(), _ctx(tiny), m.config(_quick(name)))
    assert not torch.equal(_params(res.model), before)
    assert torch.equal(_params(tiny.original.model), before)  # the original is untouched


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_result(tiny, name: str) -> None:
    m = get_method(name)
    a, b = (m.unlearn(tiny.original_copy(), _ctx(tiny), m.config(_quick(name))) for _ in range(2))
    assert torch.equal(_params(a.model), _params(b.model))


@pytest.mark.parametrize("name", ALL)
def test_config_round_trips_through_a_dict(name: str) -> None:
    m = get_method(name)
    cfg = m.config()
    assert m.Config.from_dict(cfg.to_dict()) == cfg
    as_strings = {k: str(v) for k, v in cfg.to_dict().items()}
    assert m.Config.from_dict(as_strings) == cfg  # CLI strings convert to the same config


@pytest.mark.parametrize("name", ALL)
def test_search_space_is_valid_and_every_sample_runs(tiny, name: str) -> None:
    m = get_method(name)
    fields = set(m.Config.field_names())
    rng = random.Random(0)
    for p in m.space:
        assert p.name in fields
        default = getattr(m.config(), p.name)
        # an opt-in dimension (searched only when named) may default to "off" (None)
        off = default is None and not p.searched_by_default
        assert off or p.contains(default), f"{name}.{p.name}: default {default} outside its space"
    for _ in range(3):  # the space an arm searches by default
        point = {p.name: p.sample(rng) for p in m.space if p.searched_by_default}
        assert all(p.contains(point[p.name]) for p in m.space if p.name in point)
        if "epochs" in point:
            point["epochs"] = 1
        res = m.unlearn(tiny.original_copy(), _ctx(tiny), m.config(point))
        assert all(torch.isfinite(p).all() for p in res.model.parameters())


@pytest.mark.parametrize("name", ALL)
def test_trace_is_filled(tiny, name: str) -> None:
    m = get_method(name)
    res = m.unlearn(tiny.original_copy(), _ctx(tiny), m.config(_quick(name)))
    assert res.trace and all(len(v) > 0 for v in res.trace.values())
    assert all(math.isfinite(x) for v in res.trace.values() for x in v)


@pytest.mark.parametrize("name", [n for n in ALL if "lr" in get_method(n).config().to_dict()])
def test_divergence_stops_with_a_clear_error(tiny, name: str) -> None:
    m = get_method(name)
    with pytest.raises(UnlearningDiverged, match="NaN/inf"):
        m.unlearn(tiny.original_copy(), _ctx(tiny), m.config({"lr": 1e30, "epochs": 2}))


def test_retrain_is_an_independent_retrain_whose_gap_is_the_noise_floor(tiny) -> None:
    # Its own init, batch order and augmentation streams: not the oracle bit for bit, so its
    # gap to the oracle measures retrain-to-retrain noise instead of being 0 by construction.
    run = paretoul.unlearn_and_evaluate(tiny, "retrain")
    assert not torch.equal(_params(run.model), _params(tiny.oracle.model))
    assert run.metrics["avg_gap"] > 0
    oracle = paretoul.evaluate(tiny.oracle_context)
    assert abs(run.metrics["ta"] - oracle["ta"]) < 5  # the same recipe on the same data
    again = paretoul.unlearn_and_evaluate(tiny, "retrain")
    assert torch.equal(_params(again.model), _params(run.model))  # deterministic per seed


SCHEDULED = [(n, s) for n in ALL if "schedule" in get_method(n).config().to_dict()
             for s in ("sequential", "paired")]


@pytest.mark.parametrize(("name", "schedule"), SCHEDULED)
def test_every_batch_schedule_of_a_method_runs_and_they_differ(tiny, name: str, schedule: str) -> None:
    m = get_method(name)
    res = m.unlearn(tiny.original_copy(), _ctx(tiny), m.config({"epochs": 1, "schedule": schedule}))
    assert all(torch.isfinite(p).all() for p in res.model.parameters())
    assert {"forget_relabelled", "retain"} <= set(res.trace)
    other = "paired" if schedule == "sequential" else "sequential"
    alt = m.unlearn(tiny.original_copy(), _ctx(tiny), m.config({"epochs": 1, "schedule": other}))
    assert not torch.equal(_params(res.model), _params(alt.model))


def test_schedules_are_declared() -> None:
    assert {n for n, _ in SCHEDULED} == {"rl", "salun"}
    with pytest.raises(paretoul.UserError, match=r"param.schedule: 'zigzag' is not one of"):
        get_method("rl").config({"schedule": "zigzag"})


def test_unknown_and_malformed_params() -> None:
    with pytest.raises(paretoul.UserError, match=r"param.lrr: unknown parameter for this method; "
                       r"did you mean 'lr'\?"):
        get_method("ft").config({"lrr": 1})
    with pytest.raises(paretoul.UserError, match=r"param.learning_rate: .*did you mean 'lr'\?"):
        get_method("ft").config({"learning_rate": 1})
    with pytest.raises(paretoul.UserError, match=r"param.epochs: 'x' is not an integer"):
        get_method("ft").config({"epochs": "x"})
    with pytest.raises(paretoul.UserError, match=r"param.lr: -1.0 must be > 0"):
        get_method("ga").config({"lr": "-1"})


@pytest.mark.parametrize("name", ALL)
def test_every_parameter_has_a_help_line_that_fits_80_columns(name: str, capsys, monkeypatch) -> None:
    m = get_method(name)
    space = {p.name: p.help for p in m.space}
    helps = m.Config.field_help()
    for key in m.config().to_dict():
        assert space.get(key) or helps.get(key), f"{name}.{key} has no help"
    monkeypatch.setenv("COLUMNS", "80")
    from paretoul.cli import main

    assert main(["methods", name]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80  # nothing cut
