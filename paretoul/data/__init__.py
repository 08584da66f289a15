"""Datasets (registry by name), splits and on-device batching."""

from paretoul.data import cifar, digits, mnist  # noqa: F401  (registers the datasets)
from paretoul.data.base import DATASETS, DataBundle, DatasetInfo, load_dataset
from paretoul.data.batching import augment, minibatches
from paretoul.data.splits import SEED_LIMIT, ForgetSpec, Splits, check_seed, make_splits

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
