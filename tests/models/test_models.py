from __future__ import annotations

import pytest
import torch
from torch import nn

from paretoul import MODELS, UserError, build_model


@pytest.mark.parametrize("name", MODELS.names())
@pytest.mark.parametrize("shape, k", [((1, 8, 8), 10), ((3, 32, 32), 100)])
def test_every_model_builds_for_every_input_shape(name: str, shape, k: int) -> None:
    model = build_model(name, shape, k, seed=0).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *shape))
    assert out.shape == (2, k)


@pytest.mark.parametrize("name", MODELS.names())
def test_seeded_builds_are_identical(name: str) -> None:
    a, b = (build_model(name, (3, 32, 32), 10, seed=3) for _ in range(2))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_resnet18_is_the_cifar_variant() -> None:
    m = build_model("resnet18", (3, 32, 32), 10)
    assert m.conv1.kernel_size == (3, 3) and m.conv1.stride == (1, 1)
    assert isinstance(m.maxpool, nn.Identity)
    assert 11_000_000 < sum(p.numel() for p in m.parameters()) < 11_300_000


def test_unknown_model() -> None:
    with pytest.raises(UserError, match="allowed: cnn, mlp, resnet18"):
        build_model("vit", (3, 32, 32), 10)


def test_the_cnn_pools_early_on_28x28_and_32x32_but_not_on_8x8() -> None:
    from torch import nn

    from paretoul.models import build_model

    def pools(shape: tuple[int, ...]) -> int:
        return sum(isinstance(m, nn.MaxPool2d) for m in build_model("cnn", shape, 10).modules())

    assert pools((1, 8, 8)) == 1 and pools((1, 28, 28)) == 2 and pools((3, 32, 32)) == 2
