"""Training: recipes, batch schedules, the one training loop, the cooperative time limit, and
training from scratch one model at a time or many at once."""

from __future__ import annotations

from paretoul.training.deadline import check_deadline, time_limit
from paretoul.training.ensemble import groupable, sgd_train_many
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
