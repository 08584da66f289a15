"""Shared fixtures: the run's checkpoint cache, the prepared digits artefacts, the
Fashion-MNIST cache kept across runs; the speed guards (:mod:`tests._guards`)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import paretoul
from tests._guards import (  # noqa: F401  (the guards' hooks, found here by name)
    pytest_fixture_setup,
    pytest_runtest_makereport,
    slow_fixture,
)

# two xdist workers share the two cores: one thread each
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's checkpoint cache, which every launch in the suite uses unless its test is about
    training: ``$PARETOUL_TEST_CACHE`` (``.ci/run`` sets one for both of its phases), else one
    directory shared by the xdist workers of this run."""
    env = os.environ.get("PARETOUL_TEST_CACHE")
    if env:
        Path(env).mkdir(parents=True, exist_ok=True)
        return Path(env)
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' base directories share this parent
    path = root / "cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def fmnist_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the Fashion-MNIST originals and oracles are cached: under ``$PARETOUL_CI_CACHE``
    (kept across CI runs) in a folder named by :func:`tests._code_key.training_key`, which
    changes with any change to the code that trains them; else a fresh directory."""
    from tests._code_key import keyed_cache

    root = os.environ.get("PARETOUL_CI_CACHE")
    return keyed_cache(Path(root)) if root else tmp_path_factory.mktemp("fmnist-cache")


@pytest.fixture(scope="session")
def digits_art(cache_dir: Path) -> paretoul.Artefacts:
    """Digits, MLP, random 10% forgetting, seed 0, default recipe, on the CPU."""
    return paretoul.prepare(paretoul.Setting("digits", "mlp", "random:0.1", device="cpu"), [0],
                            cache_dir=cache_dir)[0]


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


@pytest.fixture(scope="session")
@slow_fixture
def shared_study(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path):
    """The suite's one small study (:mod:`tests.shared_study`), launched once per run."""
    from tests.shared_study import launch

    return launch(tmp_path_factory.mktemp("shared"), cache_dir)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reads the shared study needs its Ray launch: it runs with the Ray tests."""
    for item in items:
        if "shared_study" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.ray)
