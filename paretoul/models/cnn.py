"""A small convolutional net that works on any image size (8x8 digits up to 32x32 CIFAR).

Three conv-BN-ReLU stages (32, 64, 128 channels), global average pooling, one linear layer.
It halves the resolution after the second stage; on inputs of 16 px or more (28x28 MNIST,
32x32 CIFAR) also after the first, so the two wider stages run at a quarter and a sixteenth of
the input's pixels (about 4x fewer operations at 28x28 than without it: sized for a CPU).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretoul.models.base import register_model

if TYPE_CHECKING:
    from torch import nn

EARLY_POOL_FROM = 16
"""Inputs at least this many pixels high also pool after the first stage."""


def _block(c_in: int, c_out: int) -> nn.Sequential:
    from torch import nn  # here, not at the top: listing models needs no torch

    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


@register_model("cnn", "small conv net: 3 conv-BN-ReLU stages (32-64-128), global pooling, linear; "
                "pools early on inputs of 16 px or more")
def build(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    from torch import nn

    c, h = input_shape[0], input_shape[1]
    early = [nn.MaxPool2d(2)] if h >= EARLY_POOL_FROM else []
    return nn.Sequential(
        _block(c, 32),
        *early,
        _block(32, 64),
        nn.MaxPool2d(2),
        _block(64, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, num_classes),
    )
