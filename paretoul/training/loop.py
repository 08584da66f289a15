"""The one training loop: every model paretoul trains or unlearns goes through :func:`train_loop`.

A caller gives a batch schedule (which batches each step sees), ``losses`` (the named scalar
losses of a step's batches) and ``combine`` (turns them into ``p.grad``: a weighted sum, a
Jacobian-descent step, ...). The loop owns what every method needs and none should repeat:
SGD with momentum and weight decay, the learning-rate schedule, autocast, the time limit
(checked at every step), the finite-loss check and the trace.

Per-step work stays on the device: each loss is checked for NaN/inf into a flag on the
device, and the flags and the epoch's loss sums are brought to the host once per epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from paretoul.errors import UnlearningDiverged
from paretoul.training.deadline import check_deadline
from paretoul.training.recipe import autocast
from paretoul.training.schedules import Batches, BatchSchedule

Losses = Callable[[nn.Module, Batches, float], dict[str, torch.Tensor]]
"""``losses(model, batches, progress)``: named scalar losses of one step (``progress`` is the
fraction of the run done, for schedules inside a loss)."""
Combine = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]
"""``combine(losses)``: sets ``p.grad``; returns per-step numbers for the trace (may be empty)."""
AfterStep = Callable[[torch.optim.Optimizer], None]
EPOCH_MEANS = frozenset({"grad_cos", "grad_conflict"})
"""Per-step numbers a ``combine`` returns that the trace keeps as per-epoch means (as it keeps
the losses) rather than step by step: the gradient-conflict figures (:func:`paretoul.jd.conflict_log`)."""


@dataclass(frozen=True)
class Optimiser:
    """SGD settings; ``lr_at(progress)`` gives the learning rate over the run (default constant)."""

    lr: float
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_at: Callable[[float], float] | None = None

    def build(self, model: nn.Module) -> torch.optim.SGD:
        return torch.optim.SGD(model.parameters(), lr=self.lr, momentum=self.momentum,
                               weight_decay=self.weight_decay)


@dataclass
class LoopResult:
    trace: dict[str, list] = field(default_factory=dict)
    """Each loss's per-epoch mean (over the steps that computed it; a list per epoch for a
    vector loss), every per-step number."""
    seconds: float = 0.0
    group: int = 1
    """How many models trained together with this one (1: alone)."""


def weighted_total(weights: dict[str, float], named: dict[str, torch.Tensor]) -> torch.Tensor | float:
    """The weighted sum of the named losses a step computed (0 when it computed none)."""
    return sum(w * named[k] for k, w in weights.items() if w != 0.0 and k in named)


def weighted_backward(weights: dict[str, float]) -> Combine:
    """``combine`` for a fixed weighted sum of the named losses; a loss a step did not compute
    is skipped, one without a weight is only traced."""

    def combine(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        total = weighted_total(weights, named)
        if isinstance(total, torch.Tensor):
            total.backward()
        return {}

    combine.weights = dict(weights)  # type: ignore[attr-defined]  # read by a grouped run
    return combine


class _Epoch:
    """The epoch's loss sums and finite flags, on the device until :meth:`close`. A loss may be
    a scalar or a vector (one per member of a grouped model)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.sums: dict[str, torch.Tensor] = {}
        self.bad: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, named: dict[str, torch.Tensor]) -> None:
        for key, value in named.items():
            v = value.detach().float()
            if key not in self.sums:
                self.sums[key] = torch.zeros_like(v)
                self.bad[key] = torch.zeros(v.shape, dtype=torch.bool, device=v.device)
                self.counts[key] = 0
            self.sums[key] += v
            self.bad[key] |= ~torch.isfinite(v)
            self.counts[key] += 1

    def close(self, name: str, epoch: int) -> dict[str, float | list[float]]:
        """Per-key means (a list for a vector loss); raise :class:`UnlearningDiverged` if any
        loss was NaN/inf (one sync)."""
        if not self.sums:
            return {}
        keys = list(self.sums)
        flat = torch.cat([torch.cat([self.sums[k].reshape(-1), self.bad[k].reshape(-1).float()])
                          for k in keys]).tolist()
        means: dict[str, float | list[float]] = {}
        bad, at = [], 0
        for k in keys:
            n = self.sums[k].numel()
            sums, flags = flat[at:at + n], flat[at + n:at + 2 * n]
            at += 2 * n
            if any(flags):
                bad.append(k if self.sums[k].dim() == 0 else
                           f"{k} of member {', '.join(str(i) for i, f in enumerate(flags) if f)}")
            mean = [s / self.counts[k] for s in sums]
            means[k] = mean[0] if self.sums[k].dim() == 0 else mean
        if bad:
            raise UnlearningDiverged(f"{name} ({', '.join(bad)}): loss became NaN/inf in epoch "
                                     f"{epoch + 1}; lower the learning rate")
        return means


def train_loop(model: nn.Module, schedule: BatchSchedule, losses: Losses, combine: Combine,
               epochs: int, optimiser: Optimiser, name: str, after_step: AfterStep | None = None,
               progress: bool = False) -> LoopResult:
    """Train ``model`` for ``epochs`` of ``schedule``; leaves it in eval mode.

    Each step: check the time limit, set the learning rate, compute ``losses`` under autocast,
    ``combine`` them into gradients (outside autocast), step the optimiser, then
    ``after_step(optimiser)`` (e.g. to hold masked-out weights in place).
    """
    device = next(model.parameters()).device
    opt = optimiser.build(model)
    result = LoopResult()
    per_step: dict[str, list[torch.Tensor]] = {}
    start = time.perf_counter()
    model.train()
    for epoch in tqdm(range(epochs), desc=name, disable=not progress, leave=False, unit="epoch"):
        acc = _Epoch(device)
        steps = schedule.steps(epoch)
        for step, batches in enumerate(schedule.epoch(epoch)):
            check_deadline()
            frac = (epoch + step / steps) / epochs
            if optimiser.lr_at is not None:
                for group in opt.param_groups:
                    group["lr"] = optimiser.lr_at(frac)
            opt.zero_grad(set_to_none=True)
            with autocast(device):
                named = losses(model, batches, frac)
            acc.add(named)
            try:
                logged = combine(named)
            except Exception as e:  # e.g. an aggregator's solver on a NaN Jacobian
                try:
                    acc.close(name, epoch)
                except UnlearningDiverged as diverged:  # the real cause: a loss was not finite
                    raise diverged from e
                raise
            for key, value in logged.items():
                if key in EPOCH_MEANS:
                    acc.add({key: value})
                else:
                    per_step.setdefault(key, []).append(value.detach().float().reshape(-1))
            opt.step()
            if after_step is not None:
                after_step(opt)
        for key, mean in acc.close(name, epoch).items():
            result.trace.setdefault(key, []).append(mean)
    for key, values in per_step.items():
        stacked = torch.stack(values).cpu()
        if stacked.shape[1] == 1:
            result.trace[key] = stacked[:, 0].tolist()
        else:
            for j in range(stacked.shape[1]):
                result.trace[f"{key}_{j}"] = stacked[:, j].tolist()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    result.seconds = time.perf_counter() - start
    model.eval()
    return result
