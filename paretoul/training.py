"""Training recipes and the one loop that trains the original model and the retrain oracle.

Both models use the same recipe; only the index set differs (train part vs
retain set). Data stay as tensors on the device; CIFAR augmentation is batched.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from paretoul.data.base import DataBundle
from paretoul.data.batching import augment as augment_batch
from paretoul.data.batching import minibatches
from paretoul.errors import UnlearningDiverged, UserError

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
    # Paper recipe for CIFAR / ResNet-18 (PROTOCOL.md section 2); meant for a GPU.
    "cifar10": Recipe(epochs=182, lr=0.1, batch_size=256, schedule="step", milestones=(0.5, 0.75)),
    "cifar100": Recipe(epochs=182, lr=0.1, batch_size=256, schedule="step", milestones=(0.5, 0.75)),
}


def default_recipe(dataset: str) -> Recipe:
    return DEFAULT_RECIPES.get(dataset, Recipe())


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, nothing on CPU."""
    if device.type == "cuda":
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


@dataclass
class LoopResult:
    epoch_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def epochs_of_batches(
    data: DataBundle,
    indices: np.ndarray | torch.Tensor,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    augment: bool = False,
    progress: bool = False,
    desc: str = "",
) -> Iterator[tuple[int, int, int, torch.Tensor, torch.Tensor]]:
    """Yield ``(epoch, step, steps_per_epoch, x, y)`` minibatches of ``indices`` on the device."""
    idx = torch.as_tensor(np.asarray(indices), dtype=torch.long, device=data.device)
    n = len(idx)
    steps = math.ceil(n / batch_size)
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False, unit="epoch")
    for epoch in bar:
        for step, b in enumerate(minibatches(n, batch_size, generator, data.device)):
            sel = idx[b]
            x = data.train_x[sel]
            if augment:
                x = augment_batch(x, generator)
            yield epoch, step, steps, x, data.train_y[sel]


def check_finite(loss: torch.Tensor, where: str) -> None:
    if not torch.isfinite(loss).all():
        raise UnlearningDiverged(f"{where}: loss became {loss.item()} (NaN/inf); lower the learning rate")


def sgd_train(
    model: nn.Module,
    data: DataBundle,
    indices: np.ndarray,
    recipe: Recipe,
    generator: torch.Generator,
    loss_fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    progress: bool = False,
    desc: str = "train",
) -> LoopResult:
    """Minimise ``loss_fn`` (default cross-entropy) over ``indices`` with SGD and the recipe's schedule."""
    loss_fn = loss_fn or (lambda m, x, y: F.cross_entropy(m(x), y))
    device = data.device
    augment = data.augment if recipe.augment is None else recipe.augment
    opt = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    result = LoopResult()
    total = torch.zeros((), device=device)
    count = 0
    start = time.perf_counter()
    model.train()
    for epoch, step, steps, x, y in epochs_of_batches(
        data, indices, recipe.epochs, recipe.batch_size, generator, augment, progress, desc
    ):
        prog = (epoch + step / steps) / recipe.epochs
        for group in opt.param_groups:
            group["lr"] = lr_at(recipe.schedule, recipe.lr, prog, recipe.milestones, recipe.gamma)
        with autocast(device):
            loss = loss_fn(model, x, y)
        check_finite(loss, desc)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.detach().float() * len(y)
        count += len(y)
        if step == steps - 1:  # one host sync per epoch, not per step
            result.epoch_losses.append(total.item() / max(count, 1))
            total.zero_()
            count = 0
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    result.seconds = time.perf_counter() - start
    model.eval()
    return result
