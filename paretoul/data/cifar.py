"""CIFAR-10 and CIFAR-100 through torchvision's own loaders, read from ``data_root``.

Nothing is downloaded unless the caller asks (``download=True`` / ``--download``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from paretoul.data.base import DataBundle, register_dataset
from paretoul.errors import UserError

if TYPE_CHECKING:
    from torchvision.datasets import CIFAR10

_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}


def _unverified(cls: type[CIFAR10]) -> type[CIFAR10]:
    """The same torchvision loader with the MD5 checks turned off (files must still exist).

    Used for private or fabricated copies in CIFAR's on-disk format (the tests write one).
    """
    attrs = {
        "train_list": [[f, None] for f, _ in cls.train_list],
        "test_list": [[f, None] for f, _ in cls.test_list],
        "meta": {**cls.meta, "md5": None},
    }
    return type(f"Unverified{cls.__name__}", (cls,), attrs)


def _load(name: str, data_root: Path, download: bool, verify: bool) -> DataBundle:
    from torchvision.datasets import CIFAR10, CIFAR100  # imported here: torchvision is slow to import

    cls = CIFAR10 if name == "cifar10" else CIFAR100
    loader = cls if verify else _unverified(cls)
    folder = data_root / cls.base_folder
    try:
        train = loader(str(data_root), train=True, download=download)
        test = loader(str(data_root), train=False, download=download)
    except RuntimeError as e:
        if "not found or corrupted" not in str(e):
            raise
        what = "missing or corrupted" if folder.exists() else "missing"
        raise UserError(
            "data-root",
            f"{name} files {what} under {folder} (expected torchvision's "
            f"{cls.base_folder}/ layout); pass --download to fetch them",
        ) from None
    except OSError as e:  # network errors while downloading
        raise UserError("download", f"could not download {name} into {data_root}: {e}") from None
    mean, std = _STATS[name]
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)

    def to_tensor(arr: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float() / 255.0
        return (x - m) / s

    return DataBundle(
        name=name,
        train_x=to_tensor(train.data),
        train_y=torch.tensor(train.targets, dtype=torch.int64),
        test_x=to_tensor(test.data),
        test_y=torch.tensor(test.targets, dtype=torch.int64),
        num_classes=len(train.classes),
        augment=True,
    )


@register_dataset("cifar10", "CIFAR-10 (50,000 + 10,000 32x32 colour images, 10 classes) "
                  "from --data-root", needs_files=True)
def load_cifar10(data_root: Path, download: bool = False, verify: bool = True) -> DataBundle:
    return _load("cifar10", data_root, download, verify)


@register_dataset("cifar100", "CIFAR-100 (50,000 + 10,000 32x32 colour images, 100 classes) "
                  "from --data-root", needs_files=True)
def load_cifar100(data_root: Path, download: bool = False, verify: bool = True) -> DataBundle:
    return _load("cifar100", data_root, download, verify)
