"""Random relabelling of forget samples, shared by ``rl``, ``salun`` and ``munba``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from paretoul.methods._sgd import PairedConfig

if TYPE_CHECKING:
    import torch
    from torch import nn

    from paretoul.training import Batches, Losses

LABEL_DRAWS = ("any", "other")
SCHEDULES = ("sequential", "paired")


def random_labels(y: torch.Tensor, num_classes: int, g: torch.Generator, draw: str = "any") -> torch.Tensor:
    """Random labels for ``y``: ``any`` = uniform over all classes, the true label included (the
    SalUn reference's ``torch.randint(0, num_classes)``); ``other`` = uniform over the others."""
    import torch

    if draw == "any":
        return torch.randint(0, num_classes, y.shape, generator=g, device=g.device).to(y.device)
    shift = torch.randint(1, num_classes, y.shape, generator=g, device=g.device).to(y.device)
    return (y + shift) % num_classes


@dataclass(frozen=True)
class RelabelConfig(PairedConfig):
    """Settings of the random-label methods (``rl``, ``salun``)."""

    epochs: int = 10
    lr: float = 0.01
    schedule: str = "sequential"
    """``sequential``: each epoch a pass over forget (random labels), then a pass over retain, one
    SGD step per batch (the reference's CIFAR-10 loop); ``paired``: a forget batch beside every
    retain batch, one step on the sum of their losses."""
    random_labels: str = "any"
    """``any``: a random label may be the true one (as the reference draws them); ``other``: never."""
    HELP: ClassVar[dict[str, str]] = {
        "schedule": "sequential: a forget pass then a retain pass per epoch (the reference's); "
                    "paired: a forget batch beside every retain batch",
        "random_labels": "any: a random label may be the true one (the reference's); other: never"}

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(),
                ("schedule", self.schedule in SCHEDULES, f"is not one of {', '.join(SCHEDULES)}"),
                ("random_labels", self.random_labels in LABEL_DRAWS,
                 f"is not one of {', '.join(LABEL_DRAWS)}")]


RELABEL_NOTES = (
    "Batch schedule `schedule`: `sequential` (default) as the SalUn reference's CIFAR-10 RL loop: "
    "each epoch one pass over the forget set with fresh random labels, one SGD step per batch, "
    "then one pass over the retain set with true labels; `paired`: a forget batch beside every "
    "retain batch (at 10% forgetting each forget sample is seen about nine times per epoch, so "
    "the reference's learning rates do not carry over). Random labels are drawn per visit: with "
    "`random_labels: any` (default, as the reference's `torch.randint(0, num_classes)`) the true "
    "label can be drawn; `other` never draws it.")


def relabel_losses(num_classes: int, g: torch.Generator, draw: str) -> Losses:
    """``losses``: "forget_relabelled" (CE to random labels) and "retain" (CE), for whichever
    of the two batches a step holds."""
    import torch.nn.functional as F


    def losses(m: nn.Module, b: Batches, progress: float) -> dict[str, torch.Tensor]:
        out = {}
        if "forget" in b:
            xf, yf = b["forget"]
            out["forget_relabelled"] = F.cross_entropy(m(xf).float(),
                                                       random_labels(yf, num_classes, g, draw))
        if "retain" in b:
            xr, yr = b["retain"]
            out["retain"] = F.cross_entropy(m(xr).float(), yr)
        return out

    return losses
