"""``retrain``: the gold standard — train from scratch on the retain set with the original's recipe."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from paretoul.methods.base import (
    Method,
    MethodConfig,
    UnlearnContext,
    UnlearnResult,
    register_method,
)
from paretoul.training import sgd_train


@dataclass(frozen=True)
class RetrainConfig(MethodConfig):
    """No knobs: the recipe is the one the original model was trained with."""


@register_method
class Retrain(Method):
    name = "retrain"
    summary = "retrain from scratch on the retain set with the original recipe (the oracle)"
    Config = RetrainConfig
    space = ()

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: RetrainConfig) -> UnlearnResult:
        fresh = ctx.new_model()
        res = sgd_train(fresh, ctx.data, ctx.splits.retain, ctx.recipe, ctx.generator(),
                        progress=ctx.progress, desc="retrain")
        return UnlearnResult(fresh, {"loss": res.epoch_losses})
