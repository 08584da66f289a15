"""Hyperparameters of the methods that run SGD epochs, and how they drive the one training loop."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from paretoul.methods.base import MethodConfig, UnlearnContext

if TYPE_CHECKING:
    from torch import nn

    from paretoul.training import (
        AfterStep,
        BatchSchedule,
        Combine,
        Losses,
        Optimiser,
    )


@dataclass(frozen=True)
class SGDConfig(MethodConfig):
    epochs: int = 10
    lr: float = 0.01
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4
    HELP: ClassVar[dict[str, str]] = {
        "batch_size": "samples per SGD step", "momentum": "SGD momentum",
        "weight_decay": "SGD weight decay (L2)"}

    def checks(self) -> list[tuple[str, bool, str]]:
        return [
            ("epochs", self.epochs >= 1, "must be >= 1"),
            ("lr", self.lr > 0 and math.isfinite(self.lr), "must be > 0"),
            ("batch_size", self.batch_size >= 1, "must be >= 1"),
            ("momentum", 0 <= self.momentum < 1, "must be in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, "must be >= 0"),
        ]

    def optimiser(self) -> Optimiser:
        """SGD at a constant learning rate (as the reference code's unlearning runs use it)."""
        from paretoul.training import Optimiser

        return Optimiser(self.lr, self.momentum, self.weight_decay)


@dataclass(frozen=True)
class PairedConfig(SGDConfig):
    """SGD settings plus the forget batch size (0 = same as ``batch_size``)."""

    forget_batch_size: int = 0
    HELP: ClassVar[dict[str, str]] = {
        "batch_size": "retain samples per SGD step",
        "forget_batch_size": "forget samples per SGD step (0: batch_size)"}

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(), ("forget_batch_size", self.forget_batch_size >= 0, "must be >= 0")]


def schedule(kind: str, ctx: UnlearnContext, cfg: SGDConfig, forget_epochs: int | None = None
             ) -> BatchSchedule:
    """The batch schedule ``kind`` (``retain``, ``forget``, ``paired`` or ``sequential``) over the
    context's splits; only the sets the schedule reads are drawn from."""
    from paretoul.training import OnePass, Paired, Sequential

    if kind in ("retain", "forget"):
        return OnePass(ctx.source(kind, cfg.batch_size), kind)
    forget_bs = getattr(cfg, "forget_batch_size", 0) or cfg.batch_size
    forget, retain = ctx.source("forget", forget_bs), ctx.source("retain", cfg.batch_size)
    if kind == "paired":
        return Paired(forget, retain)
    if kind == "sequential":
        return Sequential(forget, retain, forget_epochs)
    raise ValueError(f"unknown batch schedule {kind!r}")


def fit(model: nn.Module, ctx: UnlearnContext, cfg: SGDConfig, batches: BatchSchedule, losses: Losses,
        combine: Combine, name: str, after_step: AfterStep | None = None) -> dict[str, list[float]]:
    """Run the training loop for ``cfg.epochs`` with the config's SGD; return the trace. Inside
    :func:`~paretoul.methods.together.unlearn_together` the loop runs grouped with the other
    seeds' where it can."""
    from paretoul.methods.together import run_fit
    from paretoul.training.lockstep import FitCall

    return run_fit(FitCall(model, batches, losses, combine, cfg.epochs, cfg.optimiser(), name,
                           after_step, ctx.progress)).trace
