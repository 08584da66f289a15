"""ResNet-18, CIFAR variant: torchvision's network with a 3x3 stride-1 stem and no max-pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretoul.models.base import register_model

if TYPE_CHECKING:
    from torch import nn


@register_model("resnet18", "ResNet-18, CIFAR variant (3x3 stem, no max-pool), torchvision's blocks")
def build(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    from torch import nn  # here, not at the top: listing models needs no torch
    from torchvision.models import resnet18  # imported here: torchvision is slow to import

    model = resnet18(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(input_shape[0], 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model
