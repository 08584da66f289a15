"""``ga``: gradient ascent on the forget set (maximise its cross-entropy)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paretoul.methods._sgd import SGDConfig
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param
from paretoul.training import sgd_train


@dataclass(frozen=True)
class GAConfig(SGDConfig):
    epochs: int = 5
    lr: float = 1e-3


def _ascent(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return -F.cross_entropy(model(x), y)


@register_method
class GradientAscent(Method):
    name = "ga"
    summary = "gradient ascent on the forget set (unbounded -CE)"
    Config = GAConfig
    space = (
        float_param("lr", 1e-5, 1e-2, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 10, help="epochs over the forget set"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: GAConfig) -> UnlearnResult:
        res = sgd_train(model, ctx.data, ctx.splits.forget, config.recipe(), ctx.generator(),
                        loss_fn=_ascent, progress=ctx.progress, desc="ga")
        # The trace records the forget cross-entropy (the quantity being raised).
        return UnlearnResult(model, {"forget_ce": [-v for v in res.epoch_losses]})
