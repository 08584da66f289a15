"""``scrub``: teacher-student unlearning (Kurmanji et al., NeurIPS 2023).

The student starts as the original model, the teacher is a frozen copy of it.
In each of the first ``max_epochs`` epochs a *max* pass over the forget set
pushes the student's outputs away from the teacher's (maximise the distillation
KL); every epoch then a *min* pass over the retain set pulls them back together
(distillation KL plus cross-entropy).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paretoul.methods._sgd import SGDConfig
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param
from paretoul.training import autocast, check_finite, epochs_of_batches


@dataclass(frozen=True)
class SCRUBConfig(SGDConfig):
    epochs: int = 5
    lr: float = 5e-4
    max_epochs: int = 2
    """Epochs (the first ones) that include a max pass over the forget set (capped at ``epochs``)."""
    temperature: float = 4.0
    alpha: float = 0.001
    """Weight of the distillation KL in the min pass."""
    gamma: float = 0.99
    """Weight of the cross-entropy in the min pass."""

    def checks(self) -> list[tuple[str, bool, str]]:
        return [
            *super().checks(),
            ("max_epochs", self.max_epochs >= 0, "must be >= 0"),
            ("temperature", self.temperature > 0, "must be > 0"),
            ("alpha", self.alpha >= 0, "must be >= 0"),
            ("gamma", self.gamma >= 0, "must be >= 0"),
        ]


def distill_kl(student: torch.Tensor, teacher: torch.Tensor, t: float) -> torch.Tensor:
    """KL(teacher || student) at temperature ``t``, scaled by t^2 (Hinton et al.)."""
    return F.kl_div(F.log_softmax(student.float() / t, 1), F.softmax(teacher.float() / t, 1),
                    reduction="batchmean") * t * t


@register_method
class SCRUB(Method):
    name = "scrub"
    summary = "teacher-student: max KL to the original on forget, min KL + CE on retain"
    Config = SCRUBConfig
    space = (
        float_param("lr", 1e-4, 1e-2, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 10, help="min passes over the retain set"),
        int_param("max_epochs", 0, 3, help="leading epochs with a max pass over forget"),
        float_param("temperature", 1.0, 8.0, help="distillation temperature"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: SCRUBConfig) -> UnlearnResult:
        teacher = copy.deepcopy(model).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                              weight_decay=config.weight_decay)
        t = config.temperature
        trace: dict[str, list[float]] = {"max_kl": [], "min_loss": []}
        g_retain, g_forget = ctx.generator(0), ctx.generator(1)
        aug = ctx.data.augment

        def step(x: torch.Tensor, loss_of: callable) -> torch.Tensor:
            with autocast(ctx.device):
                with torch.no_grad():
                    teacher_logits = teacher(x)
                loss = loss_of(model(x), teacher_logits)
            check_finite(loss, self.name)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss.detach()

        model.train()
        for epoch in range(config.epochs):
            if epoch < config.max_epochs:
                total = torch.zeros((), device=ctx.device)
                n = 0
                for *_, x, _y in epochs_of_batches(ctx.data, ctx.splits.forget, 1,
                                                   config.batch_size, g_forget, aug):
                    total += -step(x, lambda s, te: -distill_kl(s, te, t))
                    n += 1
                trace["max_kl"].append(float(total) / max(n, 1))
            total = torch.zeros((), device=ctx.device)
            n = 0
            for *_, x, y in epochs_of_batches(ctx.data, ctx.splits.retain, 1, config.batch_size,
                                              g_retain, aug):
                total += step(x, lambda s, te, y=y: config.alpha * distill_kl(s, te, t)
                              + config.gamma * F.cross_entropy(s.float(), y))
                n += 1
            trace["min_loss"].append(float(total) / max(n, 1))
        model.eval()
        if not trace["max_kl"]:
            del trace["max_kl"]
        return UnlearnResult(model, trace)
