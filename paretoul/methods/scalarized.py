"""``scalarized``: RAUL's two objectives under a fixed weight, w * L_forget + (1 - w) * L_retain.

Same objectives, batches and optimiser as ``raul``, and the same step: the two gradients form
the same 2 x P Jacobian, combined by torchjd's ``Constant`` weighting ``(w, 1 - w)`` instead of a
projection. Sweeping ``w`` traces the scalarized front RAUL is compared against; ``raul`` at the
same ``w`` differs only where the two gradients conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.jd import JacobianDescent, conflict_log, fixed_weights, jacobian_combine
from paretoul.methods._alignment import (
    REFERENCE_SPACE,
    AlignmentConfig,
    alignment_losses,
)
from paretoul.methods._sgd import fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class ScalarizedConfig(AlignmentConfig):
    w: float = 0.5
    """Weight of the forget objective; the retain objective gets 1 - w."""

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(), ("w", 0.0 <= self.w <= 1.0, "must be in [0, 1]")]


def _conflict(w: torch.Tensor, jd: JacobianDescent) -> dict[str, torch.Tensor]:
    return conflict_log(jd.cosine)


@register_method
class Scalarized(Method):
    name = "scalarized"
    summary = "RAUL's objectives under a fixed weight w*L_forget + (1-w)*L_retain (the JD contrast)"
    notes = ("The objectives, batches (schedule `paired`, the same batches as `raul` for the same "
             "seed and batch sizes), optimiser and Jacobian step of `raul`; the update is "
             "w * g_forget + (1 - w) * g_retain (torchjd's `Constant` weighting of the 2 x P "
             "Jacobian, equal to the gradient of w * L_forget + (1 - w) * L_retain), so `raul` with "
             "the same `w` differs in the projection alone. The trace records `grad_cos` and "
             "`grad_conflict` per epoch as `raul`'s does, at no extra cost.")
    Config = ScalarizedConfig
    groups = True
    space = (*REFERENCE_SPACE, float_param("w", 0.0, 1.0, help="weight of the forget objective"))

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: ScalarizedConfig) -> UnlearnResult:
        losses = alignment_losses(model, ctx, config)
        jd = JacobianDescent(list(model.parameters()), fixed_weights((config.w, 1.0 - config.w),
                                                                      ctx.device))

        combine = jacobian_combine(jd, ("forget", "retain"), _conflict)
        trace = fit(model, ctx, config, schedule("paired", ctx, config), losses, combine, self.name)
        return UnlearnResult(model, trace)
