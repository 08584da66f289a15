"""The setting of an unlearning run or study: what its data, splits, original model and oracle
are made from. One frozen, hashable value that every layer carries (a study's spec, a run's
config, the audit, the export, a worker's cache key) instead of the same seven parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


def _frozen(value: Any) -> Any:
    """``value`` with its lists made tuples and its mappings :class:`FrozenMap` (hashable)."""
    if isinstance(value, Mapping):
        return FrozenMap(value)
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


class FrozenMap(Mapping[str, Any]):
    """A read-only, hashable mapping (keys in sorted order), for the options a setting holds."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._items = dict(sorted((str(k), _frozen(v)) for k, v in (items or {}).items()))

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (Ray ships it) as a plain dict inside
        return (FrozenMap, (self._items,))


@dataclass(frozen=True)
class Setting:
    """Dataset, model, forget set, reference share, training recipe, where the data live and
    which device trains: everything but the seed that the shared artefacts depend on.

    ``recipe`` holds overrides of the dataset's default recipe (see
    :func:`~paretoul.training.default_recipe`); ``dataset_options`` are passed to the dataset's
    loader (e.g. ``{"verify": False}`` for CIFAR copies). Both are stored frozen, so a
    setting is hashable."""

    dataset: str = "digits"
    model: str = "mlp"
    forget: str = "random:0.1"
    reference_fraction: float = 0.1
    recipe: Mapping[str, Any] = field(default_factory=FrozenMap)
    data_root: str = "data"
    device: str = "auto"
    dataset_options: Mapping[str, Any] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        object.__setattr__(self, "recipe", FrozenMap(self.recipe))
        object.__setattr__(self, "dataset_options", FrozenMap(self.dataset_options))
        object.__setattr__(self, "data_root", str(self.data_root))
