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
from typing import TYPE_CHECKING, ClassVar

from paretoul.methods._sgd import SGDConfig, fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param

if TYPE_CHECKING:
    import torch
    from torch import nn

    from paretoul.training import Batches


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
    HELP: ClassVar[dict[str, str]] = {
        "alpha": "weight of the distillation KL in the min pass",
        "gamma": "weight of the cross-entropy in the min pass"}

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
    import torch.nn.functional as F

    return F.kl_div(F.log_softmax(student.float() / t, 1), F.softmax(teacher.float() / t, 1),
                    reduction="batchmean") * t * t


@register_method
class SCRUB(Method):
    name = "scrub"
    summary = "teacher-student: max KL to the original on forget, min KL + CE on retain"
    notes = ("Batch schedule `sequential` with forget passes in the first `max_epochs` epochs only: "
             "each such epoch a max pass over the forget set, then every epoch a min pass over the "
             "retain set (SCRUB's max/min alternation), one SGD step per batch.")
    Config = SCRUBConfig
    space = (
        float_param("lr", 1e-4, 1e-2, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 10, help="min passes over the retain set"),
        int_param("max_epochs", 0, 3, help="leading epochs with a max pass over forget"),
        float_param("temperature", 1.0, 8.0, help="distillation temperature"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: SCRUBConfig) -> UnlearnResult:
        import torch
        import torch.nn.functional as F

        from paretoul.training import weighted_backward

        teacher = copy.deepcopy(model).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        t = config.temperature

        def losses(m: nn.Module, b: Batches, progress: float) -> dict[str, torch.Tensor]:
            if "forget" in b:  # max step: push the student away from the teacher on forget
                x, _ = b["forget"]
                with torch.no_grad():
                    teacher_logits = teacher(x)
                return {"max_kl": distill_kl(m(x), teacher_logits, t)}
            x, y = b["retain"]  # min step: distillation plus cross-entropy on retain
            with torch.no_grad():
                teacher_logits = teacher(x)
            student = m(x)
            return {"min_loss": config.alpha * distill_kl(student, teacher_logits, t)
                    + config.gamma * F.cross_entropy(student.float(), y)}

        batches = schedule("sequential", ctx, config, forget_epochs=config.max_epochs)
        trace = fit(model, ctx, config, batches, losses,
                    weighted_backward({"max_kl": -1.0, "min_loss": 1.0}), self.name)
        return UnlearnResult(model, trace)
