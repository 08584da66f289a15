"""``ft``: fine-tune the original model on the retain set (catastrophic forgetting of D_f)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from paretoul.methods._sgd import SGDConfig
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param
from paretoul.training import sgd_train


@dataclass(frozen=True)
class FTConfig(SGDConfig):
    epochs: int = 10
    lr: float = 0.01


@register_method
class FineTune(Method):
    name = "ft"
    summary = "fine-tune on the retain set with cross-entropy"
    Config = FTConfig
    space = (
        float_param("lr", 1e-3, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 20, help="epochs over the retain set"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: FTConfig) -> UnlearnResult:
        res = sgd_train(model, ctx.data, ctx.splits.retain, config.recipe(), ctx.generator(),
                        progress=ctx.progress, desc="ft")
        return UnlearnResult(model, {"loss": res.epoch_losses})
