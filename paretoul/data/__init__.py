"""Datasets (registry by name), splits and on-device batching."""

from paretoul.data import cifar, digits  # noqa: F401  (registers the datasets)
from paretoul.data.base import DATASETS, DataBundle, DatasetInfo, load_dataset
from paretoul.data.batching import augment, minibatches
from paretoul.data.splits import ForgetSpec, Splits, make_splits

__all__ = [
    "DATASETS",
    "DataBundle",
    "DatasetInfo",
    "ForgetSpec",
    "Splits",
    "augment",
    "load_dataset",
    "make_splits",
    "minibatches",
]
