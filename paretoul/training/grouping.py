"""Which models can train together as one grouped model (:mod:`paretoul.training.ensemble`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


def groupable(model: nn.Module) -> bool:
    """Whether ``model`` can train in a group: a ``Sequential`` of ``Flatten(1, -1)``,
    ``Linear`` with bias and ``ReLU``, with no buffers."""
    if not isinstance(model, nn.Sequential) or any(True for _ in model.buffers()):
        return False
    for layer in model:
        if isinstance(layer, nn.Flatten):
            if (layer.start_dim, layer.end_dim) != (1, -1):
                return False
        elif isinstance(layer, nn.Linear):
            if layer.bias is None:
                return False
        elif type(layer) is not nn.ReLU:
            return False
    return True


def plan(model: nn.Sequential) -> tuple[str, ...]:
    """The layer kinds in order (``flatten``, ``linear``, ``relu``)."""
    return tuple("linear" if isinstance(m, nn.Linear) else type(m).__name__.lower() for m in model)


def shapes(model: nn.Module) -> tuple:
    """Every parameter's name, shape, dtype and device: members of a group share them."""
    return tuple((name, tuple(p.shape), p.dtype, p.device) for name, p in model.named_parameters())


@contextlib.contextmanager
def canonical_threads(model: nn.Module) -> Iterator[None]:
    """Within the block, one thread on CPU for a model that can train in a group: MKL splits a
    lone GEMM across threads, which changes its last bits, while a group runs each member's
    product single-threaded. So a groupable model's run ends in the same bits alone or grouped,
    at any thread count of the process."""
    threads = torch.get_num_threads()
    params = next(model.parameters(), None)
    canonical = (groupable(model) and threads > 1 and params is not None
                 and params.device.type == "cpu")
    if canonical:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if canonical:
            torch.set_num_threads(threads)
