"""The loop shared by methods that take one forget and one retain batch per step.

An epoch is one pass over the retain set (shuffled by the context's stream-0
generator, exactly as ``ft`` orders it); forget batches come from their own
shuffled stream, reshuffled whenever it runs out. Each step calls ``update``
with the two batches; ``update`` sets the gradients (a weighted sum, Jacobian
descent, ...) and returns per-step numbers for the trace.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from paretoul.data.batching import augment as augment_batch
from paretoul.data.batching import minibatches
from paretoul.methods._sgd import SGDConfig
from paretoul.methods.base import UnlearnContext
from paretoul.training import autocast, check_finite

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class PairedConfig(SGDConfig):
    """SGD settings plus the forget batch size (0 = same as ``batch_size``)."""

    forget_batch_size: int = 0

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(), ("forget_batch_size", self.forget_batch_size >= 0, "must be >= 0")]


def _stream(ctx: UnlearnContext, indices: np.ndarray, batch_size: int, g: torch.Generator,
            augment: bool) -> Iterator[Batch]:
    idx = torch.as_tensor(indices, dtype=torch.long, device=ctx.device)
    while True:
        for b in minibatches(len(idx), batch_size, g, ctx.device):
            sel = idx[b]
            x = ctx.data.train_x[sel]
            yield (augment_batch(x, g) if augment else x), ctx.data.train_y[sel]


def paired_batches(ctx: UnlearnContext, epochs: int, batch_size: int, forget_batch_size: int
                   ) -> Iterator[tuple[int, int, int, Batch, Batch]]:
    """Yield ``(epoch, step, steps_per_epoch, forget_batch, retain_batch)``."""
    augment = ctx.data.augment
    retain = _stream(ctx, ctx.splits.retain, batch_size, ctx.generator(0), augment)
    forget = _stream(ctx, ctx.splits.forget, forget_batch_size or batch_size, ctx.generator(1),
                     augment)
    steps = math.ceil(len(ctx.splits.retain) / batch_size)
    for epoch in tqdm(range(epochs), disable=not ctx.progress, leave=False, unit="epoch"):
        for step in range(steps):
            yield epoch, step, steps, next(forget), next(retain)


Losses = Callable[[nn.Module, Batch, Batch, float], dict[str, torch.Tensor]]
Combine = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


def run_paired(model: nn.Module, ctx: UnlearnContext, cfg: PairedConfig, losses: Losses,
               combine: Combine, name: str) -> dict[str, list[float]]:
    """SGD over paired batches.

    ``losses(model, forget_batch, retain_batch, progress)`` returns named scalar losses
    (``progress`` = fraction of the run done, for schedules); each is checked finite, then
    ``combine(losses)`` sets ``p.grad`` and may return per-step numbers (e.g. weights).
    The trace holds each loss's per-epoch mean and every per-step number.
    """
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    model.train()
    trace: dict[str, list[float]] = {}
    sums: dict[str, torch.Tensor] = {}
    per_step: dict[str, list[torch.Tensor]] = {}
    for epoch, step, steps, fb, rb in paired_batches(ctx, cfg.epochs, cfg.batch_size,
                                                     cfg.forget_batch_size):
        opt.zero_grad(set_to_none=True)
        with autocast(ctx.device):
            named = losses(model, fb, rb, (epoch + step / steps) / cfg.epochs)
        for key, value in named.items():
            check_finite(value, f"{name} ({key})")
            sums[key] = sums.get(key, 0) + value.detach().float()
        for key, value in combine(named).items():
            per_step.setdefault(key, []).append(value.detach().float().reshape(-1))
        opt.step()
        if step == steps - 1:
            for key, total in sums.items():
                trace.setdefault(key, []).append(float(total) / steps)
            sums = {}
    for key, values in per_step.items():
        stacked = torch.stack(values).cpu()
        if stacked.shape[1] == 1:
            trace[key] = stacked[:, 0].tolist()
        else:
            for j in range(stacked.shape[1]):
                trace[f"{key}_{j}"] = stacked[:, j].tolist()
    model.eval()
    return trace


def weighted_backward(weights: dict[str, float]) -> Combine:
    """``combine`` for a fixed weighted sum of the named losses (others are only logged)."""

    def combine(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        total = sum(w * named[k] for k, w in weights.items() if w != 0.0)
        if isinstance(total, torch.Tensor):
            total.backward()
        return {}

    return combine
