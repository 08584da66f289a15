"""Training: recipes, batch schedules, the one training loop, the cooperative time limit, and
training from scratch one model at a time or many at once.

Names load on first use: the recipes need no torch, so the CLI can read them cheaply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretoul._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "check_deadline": "deadline", "time_limit": "deadline",
    "groupable": "grouping", "sgd_train_many": "ensemble",
    "AfterStep": "loop", "Combine": "loop", "LoopResult": "loop", "Losses": "loop",
    "Optimiser": "loop", "train_loop": "loop", "weighted_backward": "loop",
    "DEFAULT_RECIPES": "recipe", "Recipe": "recipe", "autocast": "recipe",
    "default_recipe": "recipe", "lr_at": "recipe",
    "Batch": "schedules", "BatchSchedule": "schedules", "Batches": "schedules",
    "OnePass": "schedules", "Paired": "schedules", "Sequential": "schedules", "Source": "schedules",
    "Job": "scratch", "sgd_train": "scratch",
}


__getattr__, __dir__ = lazy_exports(
    "paretoul.training", {k: f"paretoul.training.{m}" for k, m in _EXPORTS.items()}, globals())

if TYPE_CHECKING:
    from paretoul.training.deadline import check_deadline, time_limit
    from paretoul.training.ensemble import sgd_train_many
    from paretoul.training.grouping import groupable
    from paretoul.training.loop import (
        AfterStep,
        Combine,
        LoopResult,
        Losses,
        Optimiser,
        train_loop,
        weighted_backward,
    )
    from paretoul.training.recipe import DEFAULT_RECIPES, Recipe, autocast, default_recipe, lr_at
    from paretoul.training.schedules import (
        Batch,
        Batches,
        BatchSchedule,
        OnePass,
        Paired,
        Sequential,
        Source,
    )
    from paretoul.training.scratch import Job, sgd_train

__all__ = [
    "DEFAULT_RECIPES",
    "AfterStep",
    "Batch",
    "BatchSchedule",
    "Batches",
    "Combine",
    "Job",
    "LoopResult",
    "Losses",
    "OnePass",
    "Optimiser",
    "Paired",
    "Recipe",
    "Sequential",
    "Source",
    "autocast",
    "check_deadline",
    "default_recipe",
    "groupable",
    "lr_at",
    "sgd_train",
    "sgd_train_many",
    "time_limit",
    "train_loop",
    "weighted_backward",
]
