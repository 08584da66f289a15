"""Training recipes: how the original model and the retrain oracle are trained from scratch.

Both models use the same recipe; only the index set differs (train part vs
retain set) and each draws its batch order from its own stream.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from paretoul.errors import UserError

if TYPE_CHECKING:
    import torch

SCHEDULES = ("constant", "step", "cosine")


@dataclass(frozen=True)
class Recipe:
    """How a model is trained from scratch (SGD with momentum and an lr schedule)."""

    epochs: int = 30
    lr: float = 0.05
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    milestones: tuple[float, ...] = (0.5, 0.75)
    """For ``step``: fractions of the run at which the lr is multiplied by ``gamma``."""
    gamma: float = 0.1
    augment: bool | None = None
    """None = the dataset's default (on for CIFAR, off for digits)."""

    def __post_init__(self) -> None:
        checks = [
            ("epochs", self.epochs >= 1, "must be >= 1"),
            ("lr", self.lr > 0 and math.isfinite(self.lr), "must be > 0"),
            ("batch_size", self.batch_size >= 1, "must be >= 1"),
            ("momentum", 0 <= self.momentum < 1, "must be in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, "must be >= 0"),
            ("gamma", 0 < self.gamma <= 1, "must be in (0, 1]"),
            ("milestones", all(0 < m < 1 for m in self.milestones), "must be fractions in (0, 1)"),
        ]
        for name, ok, why in checks:
            if not ok:
                raise UserError(f"recipe.{name}", f"{getattr(self, name)!r} {why}")
        if self.schedule not in SCHEDULES:
            raise UserError("recipe.schedule", f"unknown {self.schedule!r}; allowed: {', '.join(SCHEDULES)}")

    def with_overrides(self, **overrides: Any) -> Recipe:
        """A copy with ``overrides`` (None values ignored); unknown names are a UserError."""
        names = {f.name for f in fields(self)}
        for k in overrides:
            if k not in names:
                raise UserError(f"recipe.{k}", f"unknown recipe field; allowed: {', '.join(sorted(names))}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["milestones"] = list(self.milestones)
        return d


DEFAULT_RECIPES: dict[str, Recipe] = {
    "digits": Recipe(epochs=20, lr=0.05, batch_size=64, schedule="cosine"),
    "fashion-mnist": Recipe(epochs=20, lr=0.05, batch_size=128, schedule="cosine"),
    "mnist": Recipe(epochs=20, lr=0.05, batch_size=128, schedule="cosine"),
    # SalUn's recipe for CIFAR / ResNet-18 (studies/README.md#cifar-10--cifar-100); for a GPU.
    "cifar10": Recipe(epochs=182, lr=0.1, batch_size=256, schedule="step", milestones=(0.5, 0.75)),
    "cifar100": Recipe(epochs=182, lr=0.1, batch_size=256, schedule="step", milestones=(0.5, 0.75)),
}


def default_recipe(dataset: str) -> Recipe:
    return DEFAULT_RECIPES.get(dataset, Recipe())


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, nothing on CPU."""
    if device.type == "cuda":
        import torch

        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def lr_at(recipe_schedule: str, base_lr: float, progress: float, milestones: tuple[float, ...] = (),
          gamma: float = 0.1) -> float:
    """Learning rate at ``progress`` in [0, 1) of the run."""
    if recipe_schedule == "cosine":
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    if recipe_schedule == "step":
        return base_lr * gamma ** sum(progress >= m for m in milestones)
    return base_lr
