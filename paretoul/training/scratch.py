"""Training one model from scratch with cross-entropy: the original, the oracle, retrains."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from paretoul.data.base import DataBundle
from paretoul.streams import torch_stream
from paretoul.training.grouping import canonical_threads
from paretoul.training.loop import LoopResult, Optimiser, train_loop, weighted_backward
from paretoul.training.recipe import Recipe, lr_at
from paretoul.training.schedules import Batches, OnePass, Source


def _ce(model: nn.Module, batches: Batches, progress: float) -> dict[str, torch.Tensor]:
    x, y = batches["train"]
    return {"loss": F.cross_entropy(model(x).float(), y)}


@dataclass(frozen=True)
class Job:
    """One model to train from scratch: ``model`` (freshly initialised) on ``indices`` with the
    batch order and augmentation streams ``<purpose>:*`` of ``seed``, as :func:`sgd_train` does."""

    model: nn.Module
    indices: np.ndarray
    seed: int
    purpose: str


def source_for(data: DataBundle, job: Job, recipe: Recipe) -> Source:
    augment = data.augment if recipe.augment is None else recipe.augment
    return Source(data, job.indices, recipe.batch_size,
                  torch_stream(job.seed, f"{job.purpose}:order", data.device),
                  torch_stream(job.seed, f"{job.purpose}:augment", data.device) if augment else None)


def optimiser_for(recipe: Recipe) -> Optimiser:
    return Optimiser(recipe.lr, recipe.momentum, recipe.weight_decay,
                     lambda p: lr_at(recipe.schedule, recipe.lr, p, recipe.milestones, recipe.gamma))


def train_one(job: Job, data: DataBundle, recipe: Recipe, progress: bool = False) -> LoopResult:
    """Train one job alone (the unbatched path). A model that could train in a group
    (:func:`~paretoul.training.ensemble.groupable`) trains single-threaded on CPU, so that it
    ends bit-for-bit where it would in a group, at any thread count of the process: a cached
    original or oracle is the same bits whichever path built it."""
    with canonical_threads(job.model):
        return train_loop(job.model, OnePass(source_for(data, job, recipe), "train"), _ce,
                          weighted_backward({"loss": 1.0}), recipe.epochs, optimiser_for(recipe),
                          job.purpose, progress=progress)




def sgd_train(model: nn.Module, data: DataBundle, indices: np.ndarray, recipe: Recipe, seed: int,
              purpose: str, progress: bool = False) -> LoopResult:
    """Train ``model`` with cross-entropy on ``indices`` under ``recipe`` (SGD, lr schedule).

    Batch order and augmentation come from the streams ``<purpose>:order`` and
    ``<purpose>:augment`` of ``seed`` (e.g. ``train:oracle``), so no two models share them.
    The trace's ``loss`` is the per-epoch mean cross-entropy.
    """
    return train_one(Job(model, indices, seed, purpose), data, recipe, progress)
