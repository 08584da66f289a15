"""``neggrad_plus``: retain CE minus weighted forget CE (Kurmanji et al., NeurIPS 2023)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from paretoul.methods._sgd import PairedConfig, fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param

if TYPE_CHECKING:
    import torch
    from torch import nn

    from paretoul.training import Batches


@dataclass(frozen=True)
class NegGradPlusConfig(PairedConfig):
    epochs: int = 5
    lr: float = 0.01
    alpha: float = 0.95
    """Loss = alpha * CE(retain) - (1 - alpha) * CE(forget)."""
    probe_every: int = 0
    """Measure the forget/retain gradient conflict every this many steps (0: never); each probed
    step costs one extra backward."""
    HELP: ClassVar[dict[str, str]] = {
        "probe_every": "measure the forget/retain gradient conflict every k-th step (0: never; "
                       "one extra backward per probe)"}

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(), ("alpha", 0.0 <= self.alpha <= 1.0, "must be in [0, 1]"),
                ("probe_every", self.probe_every >= 0, "must be >= 0")]


def ce_losses(m: nn.Module, b: Batches, progress: float) -> dict[str, torch.Tensor]:
    """Cross-entropy on the forget and on the retain batch."""
    import torch.nn.functional as F

    (xf, yf), (xr, yr) = b["forget"], b["retain"]
    return {"forget": F.cross_entropy(m(xf).float(), yf),
            "retain": F.cross_entropy(m(xr).float(), yr)}


@register_method
class NegGradPlus(Method):
    name = "neggrad_plus"
    summary = "alpha * CE(retain) - (1 - alpha) * CE(forget), SGD over paired batches"
    notes = ("Batch schedule `paired`: a forget batch beside every retain batch. With `probe_every: "
             "k` (k >= 1) the trace records per epoch the mean cosine between the gradients of the "
             "forget objective (-CE on the forget batch, the ascent) and the retain CE (`grad_cos`), "
             "and the share of probed steps where they conflict (`grad_conflict`, cos < 0), over "
             "every k-th step; each probed step costs one extra backward (its time is not "
             "benchmarked).")
    Config = NegGradPlusConfig
    groups = True
    space = (
        float_param("lr", 1e-4, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 10, help="passes over the retain set"),
        float_param("alpha", 0.5, 1.0, help="weight of the retain CE"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: NegGradPlusConfig) -> UnlearnResult:
        from paretoul.jd import ConflictProbe, probed
        from paretoul.training import weighted_backward

        combine = weighted_backward({"retain": config.alpha, "forget": -(1.0 - config.alpha)})
        if config.probe_every:
            probe = ConflictProbe(list(model.parameters()), {"forget": -1.0, "retain": 1.0},
                                  config.probe_every)
            combine = probed(combine, probe)
        return UnlearnResult(model, fit(model, ctx, config, schedule("paired", ctx, config), ce_losses,
                                        combine, self.name))
