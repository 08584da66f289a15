"""``raul``: reference-aligned unlearning solved by Jacobian descent (arXiv 2606.00399).

Forget objective: KL between the model's softmax on forget samples and a reference
distribution (uniform, or empirical from the held-out reference set); retain
objective: cross-entropy. Each step's two gradients are combined by a torchjd
aggregator (UPGrad by default) into a direction that conflicts with neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.jd import AGGREGATORS, JacobianDescent, make_aggregator
from paretoul.methods._alignment import (
    REFERENCE_SPACE,
    AlignmentConfig,
    alignment_losses,
)
from paretoul.methods._sgd import fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import choice_param

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class RAULConfig(AlignmentConfig):
    aggregator: str = "upgrad"

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(),
                ("aggregator", self.aggregator in AGGREGATORS, f"is not one of {', '.join(AGGREGATORS)}")]


@register_method
class RAUL(Method):
    name = "raul"
    summary = "KL to a reference distribution on forget + CE on retain, by Jacobian descent (torchjd)"
    notes = ("Batch schedule `paired`: a forget batch beside every retain batch. Objectives: "
             "L_forget = mean over the forget batch of KL(softmax(z / T) || softmax(log p_ref / T)) "
             "(`kl_direction: model_to_ref`, bounded; `ref_to_model` swaps the two sides), both "
             "sides tempered by T, so at the minimum the model's untempered softmax on a forget "
             "sample is p_ref exactly, for every T; L_retain = cross-entropy on the retain batch. "
             "p_ref is uniform, or the original's mean softmax on the held-out reference set (per "
             "class or marginal), computed once before unlearning. Each step the two gradients "
             "form a 2 x P Jacobian that the torchjd `aggregator` turns into the update "
             "(`aggregator: mean` is the fixed weighting w = 0.5, not Jacobian descent).")
    Config = RAULConfig
    space = (*REFERENCE_SPACE,
             choice_param("aggregator", ("upgrad", "mgda", "dualproj", "pcgrad", "imtlg",
                                         "aligned_mtl", "config", "mean"),
                          help="torchjd aggregator (cagrad, nashmtl need extras)"))

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: RAULConfig) -> UnlearnResult:
        losses = alignment_losses(model, ctx, config)
        jd = JacobianDescent(list(model.parameters()), make_aggregator(config.aggregator))

        def combine(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            w = jd.step([named["forget"], named["retain"]])
            return {"jd_weight_forget": w[0], "jd_weight_retain": w[1]}

        trace = fit(model, ctx, config, schedule("paired", ctx, config), losses, combine, self.name)
        return UnlearnResult(model, trace)
