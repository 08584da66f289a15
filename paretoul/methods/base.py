"""The method interface and registry.

A method is one module holding a :class:`MethodConfig` dataclass (hyperparameters
with defaults), a declared search space, and ``unlearn(model, ctx, config)``
returning the unlearned model and a small trace.
"""

from __future__ import annotations

import dataclasses
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from paretoul._registry import Registry
from paretoul.coerce import coerce
from paretoul.data.base import DataBundle
from paretoul.data.splits import Splits
from paretoul.errors import UserError, did_you_mean
from paretoul.fidelity import Fidelity
from paretoul.methods.space import Param
from paretoul.streams import torch_stream
from paretoul.training import Recipe

if TYPE_CHECKING:
    import torch
    from torch import nn

    from paretoul.training import Source

@dataclass(frozen=True)
class MethodConfig:
    """Base of every method's hyperparameters: built from a dict, validated, serialisable."""

    def __post_init__(self) -> None:
        for name, ok, why in self.checks():
            if not ok:
                raise UserError(f"param.{name}", f"{getattr(self, name)!r} {why}")

    def checks(self) -> list[tuple[str, bool, str]]:
        """``(field, valid, requirement)`` triples; override to add a method's own rules."""
        return []

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def field_help(cls) -> dict[str, str]:
        """One line per field that the search space does not describe, from each class's
        ``HELP`` (a subclass's line replaces its base's): what ``paretoul methods NAME`` prints."""
        out: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            out.update(vars(klass).get("HELP", {}))
        return {k: v for k, v in out.items() if k in cls.field_names()}

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> MethodConfig:
        """Build from ``params`` (strings are converted); unknown names are a UserError."""
        hints = typing.get_type_hints(cls)
        names = cls.field_names()
        kwargs = {}
        for key, value in params.items():
            if key not in names:
                allowed = ", ".join(names) if names else "(none)"
                raise UserError(f"param.{key}", f"unknown parameter for this method"
                                f"{did_you_mean(key, names)}; allowed: {allowed}")
            kwargs[key] = coerce(f"param.{key}", hints[key], value)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class UnlearnContext:
    """What a method may use besides the model: data on the device, splits, the recipe, a seed."""

    data: DataBundle
    splits: Splits
    recipe: Recipe
    seed: int
    new_model: Callable[[int], nn.Module]
    """``new_model(init_seed)``: a freshly initialised model of the same architecture, on the device."""
    progress: bool = False

    @property
    def device(self) -> torch.device:
        return self.data.device

    def stream(self, purpose: str) -> torch.Generator:
        """A generator for one purpose of the method's randomness (``labels``, ...), from the
        seed and the tag ``unlearn:<purpose>``: no other draw of the run shares it."""
        return torch_stream(self.seed, f"unlearn:{purpose}", self.device)

    def source(self, part: str, batch_size: int) -> Source:
        """Shuffled minibatches of ``part`` (``retain`` or ``forget``), augmented when the dataset
        is. Order and augmentation come from the streams ``unlearn:order:<part>`` and
        ``unlearn:augment:<part>``, the same in every method: methods that read the same part
        with the same batch size see the same batches (common random numbers, so that two
        methods differ only by their updates), and none replays the oracle's batches."""
        from paretoul.training import Source

        aug = self.stream(f"augment:{part}") if self.data.augment else None
        return Source(self.data, getattr(self.splits, part), batch_size,
                      self.stream(f"order:{part}"), aug)


@dataclass
class UnlearnResult:
    model: nn.Module
    trace: dict[str, list[float]] = field(default_factory=dict)
    """Per-epoch losses and similar series, small enough for a JSON record."""


class Method(ABC):
    """An unlearning method. Subclasses set the class attributes and implement ``unlearn``."""

    name: ClassVar[str]
    summary: ClassVar[str]
    notes: ClassVar[str] = ""
    """What exactly the method does (batch schedule, labels, what differs from its reference
    code), shown by ``paretoul methods NAME``."""
    Config: ClassVar[type[MethodConfig]]
    space: ClassVar[tuple[Param, ...]] = ()
    fidelity: ClassVar[Fidelity | None] = None
    """How it compares with its authors' reference code (``paretoul methods NAME`` prints it;
    the fidelity table of ``paretoul/README.md`` is made from these); None: not checked yet."""
    reference: ClassVar[bool] = False
    """A reference, not an unlearning method (``retrain``: the noise floor): its trials are
    tabulated and drawn, never chosen, exported or counted on the overall front."""
    groups: ClassVar[bool] = False
    """Whether several seeds' runs may step together as one grouped model
    (:func:`~paretoul.one_run.unlearn_and_evaluate_many`): set by a method whose ``losses`` use
    the model only by calling it on the step's batches, with no other model and no state of
    the model's own (its parameters) read inside them. The contract suite checks that each
    such method's grouped seeds are bit-identical to their lone runs."""

    def config(self, params: dict[str, Any] | None = None) -> MethodConfig:
        return self.Config.from_dict(params or {})

    @abstractmethod
    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: Any) -> UnlearnResult:
        """Return the unlearned model (``model`` may be modified in place) and a trace."""


METHODS: Registry[Method] = Registry("method")


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: register one instance of ``cls`` under ``cls.name``."""
    names = set(cls.Config.field_names())
    for p in cls.space:
        if p.name not in names:
            raise ValueError(f"{cls.name}: search-space parameter {p.name!r} is not a config field")
    METHODS.add(cls.name, cls())
    return cls


def get_method(name: str) -> Method:
    return METHODS.get(name)


def is_reference(name: str) -> bool:
    """Whether the method ``name`` is a reference (:attr:`Method.reference`); a name no installed
    method has (a plugin's, recorded elsewhere) is a candidate."""
    return name in METHODS.names() and METHODS.get(name).reference
