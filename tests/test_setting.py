"""One frozen Setting: hashable (a worker's cache key), equal when its parts are, the same from a
study's spec and a run's config, and the one argument of ``prepare``."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

import paretoul
from paretoul.setting import Setting
from paretoul.study.spec import parse_spec


def test_a_setting_is_frozen_hashable_and_equal_by_value() -> None:
    a = Setting("digits", "mlp", "random:0.1", recipe={"epochs": 3, "milestones": [0.5]})
    b = Setting("digits", "mlp", "random:0.1", recipe={"milestones": (0.5,), "epochs": 3})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != dataclasses.replace(a, recipe={"epochs": 4})
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.dataset = "cifar10"  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.recipe["epochs"] = 5  # type: ignore[index]
    assert pickle.loads(pickle.dumps(a)) == a  # Ray ships it


def test_a_study_and_a_run_of_the_same_setting_carry_the_same_value() -> None:
    spec = parse_spec({"name": "s", "dataset": "digits", "forget": "class:3", "reference_fraction": 0.2,
                       "recipe": {"epochs": 2},
                       "arms": [{"method": "retrain", "searcher": {"type": "grid"}}]})
    run = paretoul.RunConfig(dataset="digits", model="mlp", forget="class:3", reference_fraction=0.2,
                             recipe={"epochs": 2})
    assert spec.setting == run.setting
    assert paretoul.RunConfig.from_setting(spec.setting, method="ga").setting == spec.setting


def test_prepare_takes_a_setting_and_says_so_otherwise() -> None:
    with pytest.raises(paretoul.UserError, match=r"^setting: 'digits' is not a Setting"):
        paretoul.prepare("digits", [0])  # type: ignore[arg-type]
