"""``raul``: reference-aligned unlearning solved by Jacobian descent (arXiv 2606.00399).

Forget objective: KL between the model's softmax on forget samples and a reference
distribution (:mod:`paretoul.methods.losses`); retain objective: cross-entropy. Each step's
two gradients are combined by a torchjd aggregator (UPGrad by default) into a direction that
conflicts with neither; ``w`` sets the aggregator's preference vector ``(w, 1 - w)``, so that
``raul`` at ``w`` and ``scalarized`` at ``w`` differ only in the projection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.jd import (
    AGGREGATORS,
    PREFERENCE,
    JacobianDescent,
    conflict_log,
    jacobian_combine,
    make_aggregator,
)
from paretoul.methods._alignment import (
    REFERENCE_NOTES,
    REFERENCE_SPACE,
    AlignmentConfig,
    alignment_losses,
)
from paretoul.methods._sgd import fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import choice_param, float_param

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class RAULConfig(AlignmentConfig):
    aggregator: str = "upgrad"
    w: float | None = None
    """The forget gradient's preference (the retain gradient gets 1 - w), for the aggregators that
    take a preference vector; None: the aggregator's own default (equal weights)."""

    def checks(self) -> list[tuple[str, bool, str]]:
        out = [*super().checks(),
               ("aggregator", self.aggregator in AGGREGATORS, f"is not one of {', '.join(AGGREGATORS)}")]
        if self.w is not None:
            out += [("w", 0.0 <= self.w <= 1.0, "must be in [0, 1]"),
                    ("w", self.aggregator in PREFERENCE,
                     f"is set, but aggregator {self.aggregator} takes no preference; allowed with "
                     f"aggregator {', '.join(PREFERENCE)} (or leave w unset)")]
        return out

    def preference(self) -> tuple[float, float] | None:
        return None if self.w is None else (self.w, 1.0 - self.w)


def _weights_and_conflict(w: torch.Tensor, jd: JacobianDescent) -> dict[str, torch.Tensor]:
    return {"jd_weight_forget": w[0], "jd_weight_retain": w[1], **conflict_log(jd.cosine)}


_PREFERENCE_NOTES = "; ".join(f"`{k}`: {v}" for k, v in PREFERENCE.items())


@register_method
class RAUL(Method):
    name = "raul"
    summary = "KL to a reference distribution on forget + CE on retain, by Jacobian descent (torchjd)"
    notes = ("Batch schedule `paired`: a forget batch beside every retain batch. Objectives: "
             "L_forget = mean over the forget batch of KL(softmax(z / T) || softmax(log p_ref / T)) "
             "(`kl_direction: model_to_ref`, bounded; `ref_to_model` swaps the two sides), both "
             "sides tempered by T, so at the minimum the model's untempered softmax on a forget "
             "sample is p_ref exactly, for every T; L_retain = cross-entropy on the retain batch. "
             f"{REFERENCE_NOTES} Each step the two gradients "
             "form a 2 x P Jacobian that the torchjd `aggregator` turns into the update "
             "(`aggregator: mean` is the fixed weighting w = 0.5, not Jacobian descent). "
             "Preference `w` (the forget row's; the retain row gets 1 - w; unset: the aggregator's "
             f"equal weights) is taken by {_PREFERENCE_NOTES}. The other aggregators (mgda, pcgrad, "
             "cagrad, nashmtl, imtlg, mean) take none and refuse `w`. `w` is searched only where an "
             "arm names it in `search`. The trace records per epoch the mean cosine between the "
             "forget and retain gradients (`grad_cos`) and the share of steps where they conflict "
             "(`grad_conflict`, cos < 0), from the Jacobian's Gramian at no extra cost.")
    Config = RAULConfig
    groups = True
    space = (*REFERENCE_SPACE,
             choice_param("aggregator", ("upgrad", "mgda", "dualproj", "pcgrad", "imtlg",
                                         "aligned_mtl", "config", "mean"),
                          help="torchjd aggregator (cagrad, nashmtl need extras)"),
             float_param("w", 0.0, 1.0, help="preference of the forget gradient (upgrad, dualproj, "
                         "aligned_mtl, config); searched only when named in search",
                         searched_by_default=False))

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: RAULConfig) -> UnlearnResult:
        losses = alignment_losses(model, ctx, config)
        jd = JacobianDescent(list(model.parameters()),
                             make_aggregator(config.aggregator, config.preference(), ctx.device))

        combine = jacobian_combine(jd, ("forget", "retain"), _weights_and_conflict)
        trace = fit(model, ctx, config, schedule("paired", ctx, config), losses, combine, self.name)
        return UnlearnResult(model, trace)
