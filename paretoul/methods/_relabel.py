"""Random relabelling of forget samples, shared by ``rl`` and ``salun``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paretoul.methods._paired import Batch, Losses


def wrong_labels(y: torch.Tensor, num_classes: int, g: torch.Generator) -> torch.Tensor:
    """A uniformly random label different from ``y``, per sample."""
    shift = torch.randint(1, num_classes, y.shape, generator=g, device=g.device).to(y.device)
    return (y + shift) % num_classes


def relabel_losses(num_classes: int, g: torch.Generator) -> Losses:
    """{"forget_relabelled": CE to random wrong labels on forget, "retain": CE on retain}."""

    def losses(m: nn.Module, fb: Batch, rb: Batch, progress: float) -> dict[str, torch.Tensor]:
        (xf, yf), (xr, yr) = fb, rb
        return {"forget_relabelled": F.cross_entropy(m(xf).float(), wrong_labels(yf, num_classes, g)),
                "retain": F.cross_entropy(m(xr).float(), yr)}

    return losses
