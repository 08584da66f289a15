"""Training: recipes, batch schedules, the one training loop and the cooperative time limit."""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F
from torch import nn

from paretoul.data.base import DataBundle
from paretoul.streams import torch_stream
from paretoul.training.deadline import check_deadline, time_limit
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


def _ce(model: nn.Module, batches: Batches, progress: float) -> dict:
    x, y = batches["train"]
    return {"loss": F.cross_entropy(model(x).float(), y)}


def sgd_train(model: nn.Module, data: DataBundle, indices: np.ndarray, recipe: Recipe, seed: int,
              purpose: str, progress: bool = False) -> LoopResult:
    """Train ``model`` with cross-entropy on ``indices`` under ``recipe`` (SGD, lr schedule).

    Batch order and augmentation come from the streams ``<purpose>:order`` and
    ``<purpose>:augment`` of ``seed`` (e.g. ``train:oracle``), so no two models share them.
    The trace's ``loss`` is the per-epoch mean cross-entropy.
    """
    augment = data.augment if recipe.augment is None else recipe.augment
    source = Source(data, indices, recipe.batch_size, torch_stream(seed, f"{purpose}:order", data.device),
                    torch_stream(seed, f"{purpose}:augment", data.device) if augment else None)
    opt = Optimiser(recipe.lr, recipe.momentum, recipe.weight_decay,
                    lambda p: lr_at(recipe.schedule, recipe.lr, p, recipe.milestones, recipe.gamma))
    return train_loop(model, OnePass(source, "train"), _ce, weighted_backward({"loss": 1.0}),
                      recipe.epochs, opt, purpose, progress=progress)


__all__ = [
    "DEFAULT_RECIPES",
    "AfterStep",
    "Batch",
    "BatchSchedule",
    "Batches",
    "Combine",
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
    "lr_at",
    "sgd_train",
    "time_limit",
    "train_loop",
    "weighted_backward",
]
