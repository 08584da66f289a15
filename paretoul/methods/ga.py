"""``ga``: gradient ascent on the forget set (maximise its cross-entropy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.fidelity import Fidelity
from paretoul.methods._sgd import SGDConfig, fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param

if TYPE_CHECKING:
    import torch
    from torch import nn

    from paretoul.training import Batches


@dataclass(frozen=True)
class GAConfig(SGDConfig):
    epochs: int = 5
    lr: float = 1e-3


def _forget_ce(m: nn.Module, b: Batches, progress: float) -> dict[str, torch.Tensor]:
    import torch.nn.functional as F

    x, y = b["forget"]
    return {"forget_ce": F.cross_entropy(m(x).float(), y)}


@register_method
class GradientAscent(Method):
    name = "ga"
    fidelity = Fidelity(
        'GA (`GA.py`)',
        'each epoch one pass over the forget loader, loss −CE',
        'the same (`forget` schedule)',
        '—')
    summary = "gradient ascent on the forget set (unbounded -CE)"
    notes = ("Batch schedule `forget`: each epoch one shuffled pass over the forget set. The trace "
             "records the forget cross-entropy (the quantity being raised).")
    Config = GAConfig
    groups = True
    space = (
        float_param("lr", 1e-5, 1e-2, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 10, help="epochs over the forget set"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: GAConfig) -> UnlearnResult:
        from paretoul.training import weighted_backward

        trace = fit(model, ctx, config, schedule("forget", ctx, config), _forget_ce,
                    weighted_backward({"forget_ce": -1.0}), self.name)
        return UnlearnResult(model, trace)
