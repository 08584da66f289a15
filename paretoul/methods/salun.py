"""``salun``: saliency-masked random labelling (Fan et al., ICLR 2024).

The mask keeps the weights whose forget-loss gradient magnitude is in the top
``mask_ratio`` fraction (one global threshold); random-label updates then only
move those weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paretoul.methods._paired import PairedConfig, run_paired, weighted_backward
from paretoul.methods._relabel import relabel_losses
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param


@dataclass(frozen=True)
class SalUnConfig(PairedConfig):
    epochs: int = 10
    lr: float = 0.01
    mask_ratio: float = 0.5
    """Fraction of weights kept trainable (largest forget-gradient magnitudes)."""

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(), ("mask_ratio", 0.0 < self.mask_ratio <= 1.0, "must be in (0, 1]")]


def saliency_mask(model: nn.Module, ctx: UnlearnContext, ratio: float,
                  batch_size: int = 512) -> list[torch.Tensor]:
    """Boolean masks, one per parameter, keeping the top ``ratio`` of |grad of forget CE|."""
    params = [p for p in model.parameters() if p.requires_grad]
    grads = [torch.zeros_like(p) for p in params]
    forget = torch.as_tensor(ctx.splits.forget, device=ctx.device)
    model.eval()
    for i in range(0, len(forget), batch_size):
        idx = forget[i : i + batch_size]
        loss = F.cross_entropy(model(ctx.data.train_x[idx]).float(), ctx.data.train_y[idx],
                               reduction="sum")
        for acc, g in zip(grads, torch.autograd.grad(loss, params), strict=True):
            acc += g
    flat = torch.cat([g.abs().flatten() for g in grads])
    k = max(1, round(ratio * flat.numel()))
    threshold = torch.topk(flat, k, sorted=False).values.min()
    return [g.abs() >= threshold for g in grads]


@register_method
class SalUn(Method):
    name = "salun"
    summary = "random labelling restricted to the most forget-salient weights (gradient mask)"
    Config = SalUnConfig
    space = (
        float_param("lr", 1e-3, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 15, help="passes over the retain set"),
        float_param("mask_ratio", 0.1, 0.9, help="fraction of weights updated"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: SalUnConfig) -> UnlearnResult:
        masks = saliency_mask(model, ctx, config.mask_ratio)
        params = [p for p in model.parameters() if p.requires_grad]
        backward = weighted_backward({"forget_relabelled": 1.0, "retain": 1.0})

        def combine(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            backward(named)
            for p, m in zip(params, masks, strict=True):
                if p.grad is not None:
                    p.grad.mul_(m)
            return {}

        losses = relabel_losses(ctx.data.num_classes, ctx.generator(2))
        trace = run_paired(model, ctx, config, losses, combine, self.name)
        trace["mask_kept"] = [float(sum(int(m.sum()) for m in masks)) / sum(m.numel() for m in masks)]
        return UnlearnResult(model, trace)
