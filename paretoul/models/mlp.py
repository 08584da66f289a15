"""A two-hidden-layer perceptron, the default for digits."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from paretoul.models.base import register_model

if TYPE_CHECKING:
    from torch import nn


@register_model("mlp", "two hidden layers of 256 ReLU units (for small inputs such as digits)")
def build(input_shape: tuple[int, ...], num_classes: int, width: int = 256) -> nn.Module:
    from torch import nn  # here, not at the top: listing models needs no torch

    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(math.prod(input_shape), width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, num_classes),
    )
