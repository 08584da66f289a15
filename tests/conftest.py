"""Shared fixtures: a per-session checkpoint cache and the prepared digits artefacts."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import paretoul

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def digits_art(cache_dir: Path) -> paretoul.Artefacts:
    """Digits, MLP, random 10% forgetting, seed 0, default recipe, on the CPU."""
    return paretoul.prepare("digits", "mlp", "random:0.1", seed=0, device="cpu", cache_dir=cache_dir)


def write_fake_cifar(root: Path, name: str = "cifar10", n_train: int = 60, n_test: int = 20,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Write a tiny dataset in CIFAR's real on-disk format (pickled batches + meta).

    Returns the arrays written, so tests can compare what torchvision reads back.
    """
    rng = np.random.default_rng(seed)
    k = 10 if name == "cifar10" else 100
    folder = root / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
    folder.mkdir(parents=True, exist_ok=True)
    label_key = "labels" if name == "cifar10" else "fine_labels"
    train_x = rng.integers(0, 256, size=(n_train, 3072), dtype=np.uint8)
    train_y = np.arange(n_train) % k
    test_x = rng.integers(0, 256, size=(n_test, 3072), dtype=np.uint8)
    test_y = np.arange(n_test) % k

    def dump(path: Path, obj: dict) -> None:
        with open(path, "wb") as f:
            pickle.dump(obj, f)

    if name == "cifar10":
        parts = np.array_split(np.arange(n_train), 5)
        for i, idx in enumerate(parts, start=1):
            dump(folder / f"data_batch_{i}", {"data": train_x[idx], "labels": train_y[idx].tolist()})
        dump(folder / "test_batch", {"data": test_x, "labels": test_y.tolist()})
        dump(folder / "batches.meta", {"label_names": [f"c{i}" for i in range(k)]})
    else:
        dump(folder / "train", {"data": train_x, label_key: train_y.tolist()})
        dump(folder / "test", {"data": test_x, label_key: test_y.tolist()})
        dump(folder / "meta", {"fine_label_names": [f"c{i}" for i in range(k)]})
    return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}


@pytest.fixture
def fake_cifar(tmp_path: Path):
    def make(name: str = "cifar10", **kw):
        return write_fake_cifar(tmp_path, name, **kw)

    return make
