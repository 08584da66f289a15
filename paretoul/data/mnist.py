"""Fashion-MNIST and MNIST through torchvision's own loaders (28x28 grey images, 10 classes).

Files are looked for, in order, in ``data_root`` (torchvision's layout,
``<root>/FashionMNIST/raw/train-images-idx3-ubyte`` etc., or the four gzipped files directly
in ``data_root``) and in the directory of Debian's package (``dataset-fashion-mnist`` ships
``/usr/share/datasets/fashion-mnist/*.gz``), which is decompressed once into the cache in the
layout torchvision expects. Nothing is downloaded unless the caller asks (``--download``).

Every file's idx header is checked before torchvision reads it (magic number, dimensions,
file size against the header, image and label counts), so a damaged file is one line naming
it, not a traceback from deep inside torchvision.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np

from paretoul.data.base import DataBundle, register_dataset
from paretoul.errors import UserError
from paretoul.fileio import atomic_file

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")
DEBIAN = {"fashion-mnist": ("dataset-fashion-mnist", Path("/usr/share/datasets/fashion-mnist"))}
"""Dataset -> (Debian package, directory it installs the gzipped idx files in)."""
FOLDER = {"fashion-mnist": "FashionMNIST", "mnist": "MNIST"}
"""torchvision's folder name of each dataset (``<root>/<folder>/raw/``)."""
_STATS = {"fashion-mnist": (0.2860, 0.3530), "mnist": (0.1307, 0.3081)}
_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned bytes; 3 dims for images, 1 for labels


def _debian_dir(name: str) -> Path | None:
    """Where Debian's package put the files (``PARETOUL_DEBIAN_DATASETS`` overrides the base
    ``/usr/share/datasets``, for tests); None when the package is not installed."""
    if name not in DEBIAN:
        return None
    base = os.environ.get("PARETOUL_DEBIAN_DATASETS")
    path = Path(base) / DEBIAN[name][1].name if base else DEBIAN[name][1]
    return path if all((path / f"{f}.gz").is_file() for f in FILES) else None


def _raw(root: Path, name: str) -> Path:
    return root / FOLDER[name] / "raw"


def _has_raw(root: Path, name: str) -> bool:
    return all((_raw(root, name) / f).is_file() for f in FILES)


def _decompress_into(src: Path, root: Path, name: str) -> None:
    """The four ``.gz`` files of ``src`` decompressed into torchvision's layout under ``root``
    (each written to a temporary name and renamed: a reader never sees half a file)."""
    raw = _raw(root, name)
    raw.mkdir(parents=True, exist_ok=True)
    for f in FILES:
        if (raw / f).is_file():
            continue
        try:
            with gzip.open(src / f"{f}.gz", "rb") as i, atomic_file(raw / f) as o:
                shutil.copyfileobj(i, o)
        except (OSError, EOFError) as e:
            raise UserError("data-root", f"cannot decompress {src / f}.gz: {e}") from None


def locate(name: str, data_root: Path, download: bool = False) -> Path:
    """The root torchvision reads ``name`` from: ``data_root`` when it holds the files (or the
    gzipped ones, decompressed next to them), else the decompressed copy of Debian's files in
    the cache; with ``download``, ``data_root`` (torchvision fetches what is missing)."""
    from paretoul.cache import default_cache_dir

    if _has_raw(data_root, name):
        return data_root
    if all((data_root / f"{f}.gz").is_file() for f in FILES):
        _decompress_into(data_root, data_root, name)
        return data_root
    if download:
        return data_root
    debian = _debian_dir(name)
    if debian is not None:
        root = default_cache_dir() / "datasets"
        if not _has_raw(root, name):
            _decompress_into(debian, root, name)
        return root
    package = (f"install Debian's package {DEBIAN[name][0]} (apt install {DEBIAN[name][0]}; "
               f"looked in {DEBIAN[name][1]}), " if name in DEBIAN else "")
    raise UserError("data-root", f"{name} files missing: looked in {_raw(data_root, name)} and "
                    f"{data_root}/*.gz; {package}or pass --download to fetch them into {data_root}")


def _check_idx(path: Path, dims: int) -> int:
    """The item count of idx file ``path`` after checking its magic number and its size."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            header = f.read(4 + 4 * dims)
    except OSError as e:
        raise UserError("data-root", f"cannot read {path}: {e.strerror or e}") from None
    if len(header) < 4 + 4 * dims:
        raise UserError("data-root", f"{path} is truncated: {size} bytes, shorter than an idx header")
    magic = int.from_bytes(header[:4], "big")
    if magic != _MAGIC[dims]:
        raise UserError("data-root", f"{path} is not an idx file of {'images' if dims == 3 else 'labels'}"
                        f" (magic number 0x{magic:08x}, expected 0x{_MAGIC[dims]:08x})")
    shape = [int.from_bytes(header[4 + 4 * k: 8 + 4 * k], "big") for k in range(dims)]
    expected = 4 + 4 * dims + int(np.prod(shape))
    if size != expected:
        what = "truncated" if size < expected else "longer than its header says"
        raise UserError("data-root", f"{path} is {what}: {size} bytes, its header "
                        f"({' x '.join(map(str, shape))}) needs {expected}")
    if dims == 3 and shape[1:] != [28, 28]:
        raise UserError("data-root", f"{path} holds {shape[1]}x{shape[2]} images, not 28x28")
    return shape[0]


def _check_files(raw: Path) -> None:
    for part in ("train", "t10k"):
        images = _check_idx(raw / f"{part}-images-idx3-ubyte", 3)
        labels = _check_idx(raw / f"{part}-labels-idx1-ubyte", 1)
        if images != labels:
            raise UserError("data-root", f"{raw}: {part}-images holds {images} images but "
                            f"{part}-labels holds {labels} labels")


def _load(name: str, data_root: Path, download: bool) -> DataBundle:
    import torch  # torch and torchvision are imported here, so that listing datasets is cheap
    from torchvision.datasets import MNIST, FashionMNIST

    cls = FashionMNIST if name == "fashion-mnist" else MNIST
    root = locate(name, data_root, download)
    try:
        if download:
            cls(str(root), train=True, download=True)
        _check_files(_raw(root, name))
        train = cls(str(root), train=True, download=False)
        test = cls(str(root), train=False, download=False)
    except OSError as e:  # network errors while downloading
        raise UserError("download", f"could not download {name} into {root}: {e}") from None
    labels = torch.cat([train.targets, test.targets])
    if int(labels.min()) < 0 or int(labels.max()) > 9:
        raise UserError("data-root", f"{_raw(root, name)}: labels outside 0-9 "
                        f"({int(labels.min())}..{int(labels.max())})")
    mean, std = _STATS[name]

    def to_tensor(images: torch.Tensor) -> torch.Tensor:
        return ((images.float() / 255.0 - mean) / std).unsqueeze(1)  # (N, 1, 28, 28)

    return DataBundle(name=name, train_x=to_tensor(train.data), train_y=train.targets.long(),
                      test_x=to_tensor(test.data), test_y=test.targets.long(), num_classes=10,
                      augment=False, normalisation={"divide_by": 255.0, "mean": [mean], "std": [std]})


@register_dataset("fashion-mnist", "Fashion-MNIST (60,000 + 10,000 28x28 grey images of clothes, "
                  "10 classes) from --data-root or Debian's dataset-fashion-mnist",
                  needs_files=True, locate=lambda root: locate("fashion-mnist", root))
def load_fashion_mnist(data_root: Path, download: bool = False) -> DataBundle:
    return _load("fashion-mnist", data_root, download)


@register_dataset("mnist", "MNIST (60,000 + 10,000 28x28 grey handwritten digits, 10 classes) "
                  "from --data-root", needs_files=True, locate=lambda root: locate("mnist", root))
def load_mnist(data_root: Path, download: bool = False) -> DataBundle:
    return _load("mnist", data_root, download)
