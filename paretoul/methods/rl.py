"""``rl``: random labelling — CE to random labels on forget samples plus CE on retain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.fidelity import Fidelity
from paretoul.methods._relabel import RELABEL_NOTES, RelabelConfig, relabel_losses
from paretoul.methods._sgd import fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class RLConfig(RelabelConfig):
    """RL's settings: those of every random-label method."""


@register_method
class RandomLabel(Method):
    name = "rl"
    fidelity = Fidelity(
        'RL (`RL.py`, CIFAR-10 branch)',
        'each epoch one pass over forget with labels `torch.randint(0, K)` (the true label can be'
        ' drawn), one SGD step per batch, then one pass over retain',
        'the same by default (`schedule: sequential`, `random_labels: any`); a test checks the '
        'weights agree with the ported loop after 2 epochs',
        'options: `schedule: paired` (the CIFAR-100 branch instead mixes forget and retain in one'
        ' shuffled loader, with labels drawn once — not offered), `random_labels: other`')
    summary = "CE to random labels on forget + CE on retain (Golatkar et al.; SalUn's RL)"
    notes = RELABEL_NOTES
    Config = RLConfig
    groups = True
    space = (
        float_param("lr", 1e-4, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 15, help="epochs (forget pass + retain pass each)"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: RLConfig) -> UnlearnResult:
        from paretoul.training import weighted_backward

        losses = relabel_losses(ctx.data.num_classes, ctx.stream("labels"), config.random_labels)
        combine = weighted_backward({"forget_relabelled": 1.0, "retain": 1.0})
        return UnlearnResult(model, fit(model, ctx, config, schedule(config.schedule, ctx, config),
                                        losses, combine, self.name))
