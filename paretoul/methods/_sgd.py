"""Hyperparameters shared by the methods that run plain SGD epochs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from paretoul.methods.base import MethodConfig
from paretoul.training import Recipe


@dataclass(frozen=True)
class SGDConfig(MethodConfig):
    epochs: int = 10
    lr: float = 0.01
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4

    def checks(self) -> list[tuple[str, bool, str]]:
        return [
            ("epochs", self.epochs >= 1, "must be >= 1"),
            ("lr", self.lr > 0 and math.isfinite(self.lr), "must be > 0"),
            ("batch_size", self.batch_size >= 1, "must be >= 1"),
            ("momentum", 0 <= self.momentum < 1, "must be in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, "must be >= 0"),
        ]

    def recipe(self) -> Recipe:
        """A constant-lr recipe with these settings (augmentation as the dataset's default)."""
        return Recipe(
            epochs=self.epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            schedule="constant",
        )
