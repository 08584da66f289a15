"""``ft``: fine-tune the original model on the retain set (catastrophic forgetting of D_f)."""

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
class FTConfig(SGDConfig):
    epochs: int = 10
    lr: float = 0.01


def retain_ce(m: nn.Module, b: Batches, progress: float) -> dict[str, torch.Tensor]:
    import torch.nn.functional as F

    x, y = b["retain"]
    return {"loss": F.cross_entropy(m(x).float(), y)}


@register_method
class FineTune(Method):
    name = "ft"
    fidelity = Fidelity(
        'FT (`FT.py`)',
        'each epoch one pass over the retain loader, CE, SGD momentum 0.9, weight decay 5e-4, '
        'constant lr for short runs',
        'the same (`retain` schedule)',
        "batch size 64 by default (the reference's 256 is for CIFAR; set `batch_size`)")
    summary = "fine-tune on the retain set with cross-entropy"
    notes = "Batch schedule `retain`: each epoch one shuffled pass over the retain set."
    Config = FTConfig
    groups = True
    space = (
        float_param("lr", 1e-3, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 20, help="epochs over the retain set"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: FTConfig) -> UnlearnResult:
        from paretoul.training import weighted_backward

        trace = fit(model, ctx, config, schedule("retain", ctx, config), retain_ce,
                    weighted_backward({"loss": 1.0}), self.name)
        return UnlearnResult(model, trace)
