"""A small name -> object registry shared by datasets, models, methods and metrics.

Every lookup first imports the plugins (:mod:`paretoul.plugins`) not imported yet, so an
entry registered from outside the package is found like the package's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from paretoul.errors import choice_error
from paretoul.plugins import load_plugins

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to entries; lookups of unknown names raise a one-line UserError."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(entry: T) -> T:
            return self.add(name, entry)

        return deco

    def get(self, name: str) -> T:
        if name not in self._entries:
            load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            raise choice_error(self.kind, name, self.names()) from None

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        load_plugins()
        return len(self._entries)
