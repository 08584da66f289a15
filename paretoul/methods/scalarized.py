"""``scalarized``: RAUL's two objectives under a fixed weight, w * L_forget + (1 - w) * L_retain.

Same objectives, batches and optimiser as ``raul``; only the gradient combination
differs. Sweeping ``w`` traces the scalarized front RAUL is compared against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.methods._alignment import (
    REFERENCE_SPACE,
    AlignmentConfig,
    alignment_losses,
)
from paretoul.methods._sgd import fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ScalarizedConfig(AlignmentConfig):
    w: float = 0.5
    """Weight of the forget objective; the retain objective gets 1 - w."""

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(), ("w", 0.0 <= self.w <= 1.0, "must be in [0, 1]")]


@register_method
class Scalarized(Method):
    name = "scalarized"
    summary = "RAUL's objectives under a fixed weight w*L_forget + (1-w)*L_retain (the JD contrast)"
    notes = ("The objectives, batches (schedule `paired`, the same batches as `raul` for the same "
             "seed and batch sizes) and optimiser of `raul`; the update is the gradient of "
             "w * L_forget + (1 - w) * L_retain.")
    Config = ScalarizedConfig
    space = (*REFERENCE_SPACE, float_param("w", 0.0, 1.0, help="weight of the forget objective"))

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: ScalarizedConfig) -> UnlearnResult:
        from paretoul.training import weighted_backward

        losses = alignment_losses(model, ctx, config)
        combine = weighted_backward({"forget": config.w, "retain": 1.0 - config.w})
        trace = fit(model, ctx, config, schedule("paired", ctx, config), losses, combine, self.name)
        return UnlearnResult(model, trace)
