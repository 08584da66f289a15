"""``munba``: two-player Nash bargaining between forgetting and retaining (Wu & Harandi, 2025).

Each step solves the bargaining problem on the two gradients in closed form: with
G the 2x2 Gram matrix, the weights a satisfy (G a)_i = 1 / a_i, which for two
players gives a_i = 1 / (||g_i|| * sqrt(1 + cos(g_f, g_r))). The update is the sum of
the two unit gradients scaled by 1 / sqrt(1 + cos): neither player dominates, and
the direction improves both whenever they do not conflict head-on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.jd import JacobianDescent, conflict_log
from paretoul.methods._relabel import random_labels
from paretoul.methods._sgd import PairedConfig, fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import choice_param, float_param, int_param

if TYPE_CHECKING:
    import torch
    from torch import nn

    from paretoul.training import Batches

FORGET_LOSSES = ("neg_ce", "random_label")
_EPS = 1e-8


class NashBargaining2:
    """A two-player Nash-bargaining weighting in the shape JacobianDescent accepts."""

    combines_rows = True

    def weighting(self, jac: torch.Tensor) -> torch.Tensor:
        gram = jac @ jac.T
        norms = gram.diagonal().clamp_min(_EPS).sqrt()
        cos = gram[0, 1] / (norms[0] * norms[1])
        return 1.0 / (norms * (1.0 + cos).clamp_min(_EPS).sqrt())


@dataclass(frozen=True)
class MUNBaConfig(PairedConfig):
    epochs: int = 5
    lr: float = 1e-3
    forget_loss: str = "neg_ce"
    """``neg_ce`` (raise the forget CE) or ``random_label`` (CE to random labels other than the
    true one)."""

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(),
                ("forget_loss", self.forget_loss in FORGET_LOSSES,
                 f"is not one of {', '.join(FORGET_LOSSES)}")]


@register_method
class MUNBa(Method):
    name = "munba"
    summary = "Nash bargaining between forget and retain gradients, closed-form weights per step"
    notes = ("Batch schedule `paired`. The forgetting player's loss is -CE (`neg_ce`) or CE to "
             "random labels other than the true one (`random_label`). The trace records the "
             "gradient conflict (`grad_cos`, `grad_conflict`) from the step's Gramian, as `raul`'s.")
    Config = MUNBaConfig
    space = (
        float_param("lr", 1e-4, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 10, help="passes over the retain set"),
        choice_param("forget_loss", FORGET_LOSSES, help="the forgetting player's loss"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: MUNBaConfig) -> UnlearnResult:
        import torch.nn.functional as F

        g = ctx.stream("labels")
        k = ctx.data.num_classes

        def losses(m: nn.Module, b: Batches, progress: float) -> dict[str, torch.Tensor]:
            (xf, yf), (xr, yr) = b["forget"], b["retain"]
            logits_f = m(xf).float()
            if config.forget_loss == "neg_ce":
                lf = -F.cross_entropy(logits_f, yf)
            else:
                lf = F.cross_entropy(logits_f, random_labels(yf, k, g, "other"))
            return {"forget": lf, "retain": F.cross_entropy(m(xr).float(), yr)}

        jd = JacobianDescent(list(model.parameters()), NashBargaining2())

        def combine(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            w = jd.step([named["forget"], named["retain"]])
            return {"nash_weight_forget": w[0], "nash_weight_retain": w[1], **conflict_log(jd.cosine)}

        return UnlearnResult(model, fit(model, ctx, config, schedule("paired", ctx, config), losses,
                                        combine, self.name))
