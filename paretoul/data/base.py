"""The in-memory dataset type and the dataset registry.

Every dataset is loaded once into tensors (images normalised, labels int64) so
training and evaluation index them directly on the compute device, with no
per-sample Python data loader in the hot loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

from paretoul._registry import Registry


@dataclass(frozen=True)
class DataBundle:
    """A dataset's official train and test parts as tensors."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    augment: bool = False
    """Whether training applies CIFAR-style augmentation (crop with 4-px padding, flip)."""
    normalisation: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """How raw pixels became ``train_x``: ``x = (raw / divide_by - mean[c]) / std[c]`` per
    channel c (recorded with an exported model, so a user can prepare new inputs)."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train_x.shape[1:])

    @property
    def device(self) -> torch.device:
        return self.train_x.device

    def to(self, device: torch.device | str) -> DataBundle:
        return replace(
            self,
            train_x=self.train_x.to(device),
            train_y=self.train_y.to(device),
            test_x=self.test_x.to(device),
            test_y=self.test_y.to(device),
        )


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: how to load it and what it is."""

    name: str
    load: Callable[..., DataBundle]
    summary: str
    needs_files: bool
    default_model: str = "mlp"
    locate: Callable[[Path], object] | None = None
    """Checks that the files can be found under a data root (or elsewhere, e.g. a Debian
    package's directory) without loading them; raises a one-line UserError when not."""


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def register_dataset(name: str, summary: str, needs_files: bool, default_model: str = "mlp",
                     locate: Callable[[Path], object] | None = None) -> Callable:
    def deco(fn: Callable[..., DataBundle]) -> Callable[..., DataBundle]:
        DATASETS.add(name, DatasetInfo(name, fn, summary, needs_files, default_model, locate))
        return fn

    return deco


def load_dataset(
    name: str, data_root: str | Path = "data", download: bool = False, **options: object
) -> DataBundle:
    """Load the registered dataset ``name`` (files read from ``data_root`` where needed).

    ``options`` go to the loader (e.g. ``verify=False`` skips CIFAR's MD5 checks).
    """
    info = DATASETS.get(name)
    return info.load(Path(data_root).expanduser(), download=download, **options)
