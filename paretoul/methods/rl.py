"""``rl``: random labelling — fine-tune on forget samples with random wrong labels plus retain."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from paretoul.methods._paired import PairedConfig, run_paired, weighted_backward
from paretoul.methods._relabel import relabel_losses
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param


@dataclass(frozen=True)
class RLConfig(PairedConfig):
    epochs: int = 10
    lr: float = 0.01


@register_method
class RandomLabel(Method):
    name = "rl"
    summary = "CE to random wrong labels on forget + CE on retain (Golatkar et al.; SalUn's RL)"
    Config = RLConfig
    space = (
        float_param("lr", 1e-4, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 15, help="passes over the retain set"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: RLConfig) -> UnlearnResult:
        losses = relabel_losses(ctx.data.num_classes, ctx.generator(2))
        combine = weighted_backward({"forget_relabelled": 1.0, "retain": 1.0})
        return UnlearnResult(model, run_paired(model, ctx, config, losses, combine, self.name))
