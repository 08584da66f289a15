"""``raul``: reference-aligned unlearning solved by Jacobian descent (arXiv 2606.00399).

Forget objective: KL between the model's softmax on forget samples and a reference
distribution (uniform, or empirical from the held-out reference set); retain
objective: cross-entropy. Each step's two gradients are combined by a torchjd
aggregator (UPGrad by default) into a direction that conflicts with neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from paretoul.jd import AGGREGATORS, JacobianDescent, make_aggregator
from paretoul.methods._paired import run_paired
from paretoul.methods._reference_objectives import (
    REFERENCE_SPACE,
    ReferenceObjectivesConfig,
    reference_losses,
)
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import choice_param


@dataclass(frozen=True)
class RAULConfig(ReferenceObjectivesConfig):
    aggregator: str = "upgrad"

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(),
                ("aggregator", self.aggregator in AGGREGATORS, f"is not one of {', '.join(AGGREGATORS)}")]


@register_method
class RAUL(Method):
    name = "raul"
    summary = "KL to a reference distribution on forget + CE on retain, by Jacobian descent (torchjd)"
    Config = RAULConfig
    space = (*REFERENCE_SPACE,
             choice_param("aggregator", ("upgrad", "mgda", "dualproj", "pcgrad", "imtlg",
                                         "aligned_mtl", "config", "mean"),
                          help="torchjd aggregator (cagrad, nashmtl need extras)"))

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: RAULConfig) -> UnlearnResult:
        losses = reference_losses(model, ctx, config)
        jd = JacobianDescent(list(model.parameters()), make_aggregator(config.aggregator))

        def combine(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            w = jd.step([named["forget"], named["retain"]])
            return {"jd_weight_forget": w[0], "jd_weight_retain": w[1]}

        trace = run_paired(model, ctx, config, losses, combine, self.name)
        return UnlearnResult(model, trace)
