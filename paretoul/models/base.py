"""The model registry: each entry builds an ``nn.Module`` from the dataset's input shape and
class count (torch is imported when a model is built, not when the registry is read)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul._registry import Registry

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelInfo:
    name: str
    build: Callable[[tuple[int, ...], int], nn.Module]
    summary: str


MODELS: Registry[ModelInfo] = Registry("model")


def register_model(name: str, summary: str) -> Callable:
    def deco(fn: Callable[[tuple[int, ...], int], nn.Module]) -> Callable:
        MODELS.add(name, ModelInfo(name, fn, summary))
        return fn

    return deco


def build_model(
    name: str, input_shape: tuple[int, ...], num_classes: int, seed: int | None = None
) -> nn.Module:
    """Build model ``name``; with ``seed`` its initial weights are deterministic."""
    import torch  # here: the registry itself needs no torch

    info = MODELS.get(name)
    if seed is None:
        return info.build(tuple(input_shape), num_classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return info.build(tuple(input_shape), num_classes)
