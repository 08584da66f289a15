"""Datasets (registry by name), splits and on-device batching.

Importing this package imports no torch: each loader imports it when it loads, and the
batching helpers load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretoul._lazy import lazy_exports
from paretoul.data import cifar, digits, mnist  # noqa: F401  (registers the datasets)
from paretoul.data.base import DATASETS, DataBundle, DatasetInfo, load_dataset
from paretoul.data.splits import SEED_LIMIT, ForgetSpec, Splits, check_seed, make_splits

_EXPORTS = {"augment": "paretoul.data.batching", "minibatches": "paretoul.data.batching"}
__getattr__, __dir__ = lazy_exports("paretoul.data", _EXPORTS, globals())

if TYPE_CHECKING:
    from paretoul.data.batching import augment, minibatches

__all__ = [
    "DATASETS",
    "SEED_LIMIT",
    "DataBundle",
    "DatasetInfo",
    "ForgetSpec",
    "Splits",
    "augment",
    "check_seed",
    "load_dataset",
    "make_splits",
    "minibatches",
]
