"""A small convolutional net that works on any image size (8x8 digits up to 32x32 CIFAR)."""

from __future__ import annotations

from torch import nn

from paretoul.models.base import register_model


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


@register_model("cnn", "small conv net: 3 conv-BN-ReLU stages (32-64-128), global pooling, linear")
def build(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    c = input_shape[0]
    return nn.Sequential(
        _block(c, 32),
        _block(32, 64),
        nn.MaxPool2d(2),
        _block(64, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, num_classes),
    )
