"""CIFAR-10 and CIFAR-100 through torchvision's own loaders, read from ``data_root``.

Nothing is downloaded unless the caller asks (``download=True`` / ``--download``).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from paretoul.data.base import DataBundle, register_dataset
from paretoul.errors import UserError

if TYPE_CHECKING:
    import torch
    from torchvision.datasets import CIFAR10

_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}


_NUMPY = ("numpy.core", "numpy._core")
_ALLOWED_GLOBALS = {
    *((f"{m}.multiarray", "_reconstruct") for m in _NUMPY),
    *((f"{m}.multiarray", "scalar") for m in _NUMPY),
    *((f"{m}.numeric", "_frombuffer") for m in _NUMPY),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


class _DataUnpickler(pickle.Unpickler):
    """Reads CIFAR's pickled batches — dicts, lists, strings, numbers and numpy arrays — and
    refuses any other global, so a crafted file cannot run code when it is read."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a dataset file")


def _read_batch(path: str) -> Any:
    with open(path, "rb") as f:
        return _DataUnpickler(f, encoding="latin1").load()


def _unverified(cls: type[CIFAR10]) -> type[CIFAR10]:
    """The same torchvision loader with the MD5 checks turned off (files must still exist).

    Used for private or fabricated copies in CIFAR's on-disk format (the tests write one).
    Such files are unknown, so they are read with :class:`_DataUnpickler` (plain data and
    numpy arrays only) instead of torchvision's unrestricted ``pickle.load``; with the
    checks on, only the published files (their MD5s match) are ever unpickled.
    """

    class Unverified(cls):  # type: ignore[valid-type,misc]
        train_list: ClassVar[list[list[Any]]] = [[f, None] for f, _ in cls.train_list]
        test_list: ClassVar[list[list[Any]]] = [[f, None] for f, _ in cls.test_list]
        meta: ClassVar[dict[str, Any]] = {**cls.meta, "md5": None}

        def __init__(self, root: str, train: bool = True, download: bool = False) -> None:
            from torchvision.datasets.vision import VisionDataset

            VisionDataset.__init__(self, root)
            self.train = train
            if download:
                self.download()
            if not self._check_integrity():
                raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
            data, targets = [], []
            for file_name, _ in self.train_list if train else self.test_list:
                entry = _read_batch(os.path.join(self.root, self.base_folder, file_name))
                data.append(entry["data"])
                targets.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])
            self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
            self.targets = targets
            self._load_meta()

        def _load_meta(self) -> None:
            path = os.path.join(self.root, self.base_folder, self.meta["filename"])
            if not os.path.isfile(path):
                raise RuntimeError("Dataset metadata file not found or corrupted. You can use "
                                   "download=True to download it")
            self.classes = _read_batch(path)[self.meta["key"]]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    Unverified.__name__ = Unverified.__qualname__ = f"Unverified{cls.__name__}"
    return Unverified


def _load(name: str, data_root: Path, download: bool, verify: bool) -> DataBundle:
    import torch  # torch and torchvision are imported here, so that listing datasets is cheap
    from torchvision.datasets import CIFAR10, CIFAR100

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
    except pickle.UnpicklingError as e:
        raise UserError("data-root", f"{name} files under {folder} are not plain data ({e}); "
                        "refusing to read them") from None
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
        normalisation={"divide_by": 255.0, "mean": list(mean), "std": list(std)},
    )


@register_dataset("cifar10", "CIFAR-10 (50,000 + 10,000 32x32 colour images, 10 classes) "
                  "from --data-root", needs_files=True, default_model="resnet18")
def load_cifar10(data_root: Path, download: bool = False, verify: bool = True) -> DataBundle:
    return _load("cifar10", data_root, download, verify)


@register_dataset("cifar100", "CIFAR-100 (50,000 + 10,000 32x32 colour images, 100 classes) "
                  "from --data-root", needs_files=True, default_model="resnet18")
def load_cifar100(data_root: Path, download: bool = False, verify: bool = True) -> DataBundle:
    return _load("cifar100", data_root, download, verify)
