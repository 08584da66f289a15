"""``l1_sparse``: fine-tune on retain with an L1 penalty decayed linearly to 0 (Jia et al., NeurIPS 2023)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paretoul.methods._paired import Batch, PairedConfig, run_paired, weighted_backward
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param


@dataclass(frozen=True)
class L1SparseConfig(PairedConfig):
    epochs: int = 10
    lr: float = 0.01
    alpha: float = 1e-4
    """Initial L1 weight; it decays linearly to 0 over the run."""

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(), ("alpha", self.alpha >= 0, "must be >= 0")]


@register_method
class L1Sparse(Method):
    name = "l1_sparse"
    summary = "fine-tune on retain + alpha_t * ||theta||_1, alpha_t decayed linearly to 0"
    Config = L1SparseConfig
    space = (
        float_param("lr", 1e-3, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 15, help="passes over the retain set"),
        float_param("alpha", 1e-6, 1e-3, log=True, help="initial L1 weight"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: L1SparseConfig) -> UnlearnResult:
        params = [p for p in model.parameters() if p.requires_grad]

        def losses(m: nn.Module, fb: Batch, rb: Batch, progress: float) -> dict[str, torch.Tensor]:
            l1 = sum(p.abs().sum() for p in params)
            return {"retain": F.cross_entropy(m(rb[0]).float(), rb[1]),
                    "l1": config.alpha * (1.0 - progress) * l1}

        combine = weighted_backward({"retain": 1.0, "l1": 1.0})
        return UnlearnResult(model, run_paired(model, ctx, config, losses, combine, self.name))
