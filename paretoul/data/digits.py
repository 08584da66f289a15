"""scikit-learn's bundled 8x8 digits: the embedded default (no download, seconds on a CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paretoul.data.base import DataBundle, register_dataset

TEST_FRACTION = 0.2
"""Digits has no official split; this fixed, stratified one (seed 0) stands in for it."""


def _fixed_split(y: np.ndarray, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = round(len(idx) * test_fraction)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@register_dataset("digits", "scikit-learn's 8x8 handwritten digits, 1,797 images, 10 classes "
                  "(embedded, fixed 80/20 split)", needs_files=False)
def load(data_root: Path | None = None, download: bool = False) -> DataBundle:
    import torch  # torch and scikit-learn are imported here, so that listing datasets is cheap
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8) in [0, 1]
    x = (x - 0.5) / 0.5
    y = torch.tensor(d.target, dtype=torch.int64)
    tr, te = _fixed_split(d.target, TEST_FRACTION)
    return DataBundle(
        name="digits",
        train_x=x[tr],
        train_y=y[tr],
        test_x=x[te],
        test_y=y[te],
        num_classes=10,
        augment=False,
        normalisation={"divide_by": 16.0, "mean": [0.5], "std": [0.5]},
    )
