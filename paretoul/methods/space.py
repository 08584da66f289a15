"""Search-space declarations: each method lists its tunable hyperparameters here.

Searchers (Optuna, pymoo, grid), CLI help and the contract suite all read the
same declaration, so nothing else needs to know a method's knobs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """One dimension: ``float``/``int`` with ``low``..``high`` (optionally log), or ``categorical``."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    help: str = ""
    searched_by_default: bool = True
    """False: searched only where an arm names it in ``search`` (a knob that changes what the
    method is, such as ``raul``'s preference ``w``, is not drawn unless asked for)."""

    def __post_init__(self) -> None:
        if self.kind in ("float", "int"):
            if self.low is None or self.high is None or self.low > self.high:
                raise ValueError(f"{self.name}: need low <= high, got {self.low}..{self.high}")
            if self.log and self.low <= 0:
                raise ValueError(f"{self.name}: a log range must be > 0, got low={self.low}")
        elif self.kind == "categorical":
            if not self.choices:
                raise ValueError(f"{self.name}: categorical needs choices")
        else:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")

    def contains(self, value: Any) -> bool:
        if self.kind == "categorical":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and int(value) != value:
            return False
        return self.low <= value <= self.high  # type: ignore[operator]

    def sample(self, rng: random.Random) -> Any:
        if self.kind == "categorical":
            return rng.choice(self.choices)
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.log:
            v = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        else:
            v = rng.uniform(lo, hi)
        if self.kind == "int":
            return min(int(self.high), max(int(self.low), round(v)))  # type: ignore[arg-type]
        return v

    def describe(self) -> str:
        if self.kind == "categorical":
            return "{" + ", ".join(map(str, self.choices)) + "}"
        scale = " log" if self.log else ""
        return f"{self.kind} [{self.low:g}, {self.high:g}]{scale}"


def float_param(name: str, low: float, high: float, log: bool = False, help: str = "",
                searched_by_default: bool = True) -> Param:
    return Param(name, "float", low, high, log, help=help, searched_by_default=searched_by_default)


def int_param(name: str, low: int, high: int, log: bool = False, help: str = "") -> Param:
    return Param(name, "int", low, high, log, help=help)


def choice_param(name: str, choices: tuple[Any, ...], help: str = "") -> Param:
    return Param(name, "categorical", choices=choices, help=help)
