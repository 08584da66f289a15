"""The losses RAUL and its fixed-weight twin share (KL to a reference on forget, CE on retain),
with the knobs that configure them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.errors import UserError
from paretoul.methods._sgd import PairedConfig
from paretoul.methods.base import UnlearnContext
from paretoul.methods.losses import (
    KL_DIRECTIONS,
    REFERENCE_TARGETS,
    REFERENCES,
    forget_kl,
    forget_reference,
    resolve_reference,
    retain_ce,
)
from paretoul.methods.space import choice_param, float_param, int_param

if TYPE_CHECKING:
    import torch
    from torch import nn

    from paretoul.training import Batches, Losses


@dataclass(frozen=True)
class AlignmentConfig(PairedConfig):
    epochs: int = 5
    lr: float = 0.01
    reference: str = "auto"
    """What forget samples are aligned to (:data:`~paretoul.methods.losses.REFERENCE_TARGETS`);
    ``auto`` picks by the forget scenario."""
    kl_direction: str = "model_to_ref"
    """``model_to_ref`` = KL(p_model || p_ref), bounded (default); ``ref_to_model`` unbounded."""
    temperature: float = 1.0
    """Both sides of the forget KL are tempered: softmax(z / T) against softmax(log p_ref / T),
    so that at its minimum the model's untempered softmax is p_ref itself, for every T."""

    def checks(self) -> list[tuple[str, bool, str]]:
        return [
            *super().checks(),
            ("reference", self.reference in REFERENCES, f"is not one of {', '.join(REFERENCES)}"),
            ("kl_direction", self.kl_direction in KL_DIRECTIONS,
             f"is not one of {', '.join(KL_DIRECTIONS)}"),
            ("temperature", self.temperature > 0, "must be > 0"),
        ]


REFERENCE_NOTES = ("The target p_ref of a forget sample, by `reference`: "
                   + "; ".join(f"`{k}`: {v}" for k, v in REFERENCE_TARGETS.items()) + ".")

REFERENCE_SPACE = (
    float_param("lr", 1e-4, 1e-1, log=True, help="SGD learning rate"),
    int_param("epochs", 1, 10, help="passes over the retain set"),
    choice_param("reference", REFERENCES, help="reference distribution for forget samples"),
    choice_param("kl_direction", KL_DIRECTIONS, help="KL direction (model_to_ref is bounded)"),
    float_param("temperature", 0.5, 4.0, log=True, help="temperature of both sides of the forget KL"),
)


def alignment_losses(model: nn.Module, ctx: UnlearnContext, cfg: AlignmentConfig) -> Losses:
    """``losses`` for paired batches: {"forget": KL to p_ref, "retain": CE}.

    p_ref is computed once, here, from ``model`` — the original, before any update.
    """
    kind = resolve_reference(cfg.reference, ctx.splits)
    if kind != "uniform" and len(ctx.splits.reference) == 0:
        why = (f"auto picks {kind} for forget set {ctx.splits.forget_spec}" if cfg.reference == "auto"
               else cfg.reference)
        raise UserError("param.reference", f"{why}, which needs a reference set; use a reference "
                        "fraction > 0 or reference=uniform")
    p_ref = forget_reference(kind, model, ctx.data, ctx.splits)

    def losses(m: nn.Module, b: Batches, progress: float) -> dict[str, torch.Tensor]:
        (xf, yf), (xr, yr) = b["forget"], b["retain"]
        target = p_ref.rows(yf, getattr(b["forget"], "index", None))
        return {
            "forget": forget_kl(m(xf), target, cfg.kl_direction, cfg.temperature),
            "retain": retain_ce(m(xr), yr),
        }

    return losses
