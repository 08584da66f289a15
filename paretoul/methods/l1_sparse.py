"""``l1_sparse``: fine-tune on retain with an L1 penalty decayed linearly to 0 (Jia et al., NeurIPS 2023)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.fidelity import Fidelity
from paretoul.methods._sgd import SGDConfig, fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param

if TYPE_CHECKING:
    import torch
    from torch import nn

    from paretoul.training import Batches


@dataclass(frozen=True)
class L1SparseConfig(SGDConfig):
    epochs: int = 10
    lr: float = 0.01
    alpha: float = 1e-4
    """Initial L1 weight; in epoch e (0-based) of E it is alpha * (1 - e / E)."""

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(), ("alpha", self.alpha >= 0, "must be >= 0")]


@register_method
class L1Sparse(Method):
    name = "l1_sparse"
    fidelity = Fidelity(
        'l1-sparse (`FT.py`, `FT_l1`)',
        'FT plus α_e·‖θ‖₁ over all parameters, α_e = α(1 − e/E) constant within epoch e',
        'the same',
        "default α 1e-4 (the paper's setting; the script's `--alpha` default 0.2 is shared with "
        'other methods)')
    summary = "fine-tune on retain + alpha_e * ||theta||_1, alpha_e decayed linearly to 0"
    notes = ("Batch schedule `retain` (no forget batch is drawn). As the reference code "
             "(SalUn's `FT_l1`): the weight is constant within an epoch, alpha * (1 - e / E) in "
             "epoch e of E, and the penalty is the L1 norm of all parameters.")
    Config = L1SparseConfig
    space = (
        float_param("lr", 1e-3, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 15, help="passes over the retain set"),
        float_param("alpha", 1e-6, 1e-3, log=True, help="initial L1 weight"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: L1SparseConfig) -> UnlearnResult:
        import torch.nn.functional as F

        from paretoul.training import weighted_backward

        params = [p for p in model.parameters() if p.requires_grad]

        def losses(m: nn.Module, b: Batches, progress: float) -> dict[str, torch.Tensor]:
            epoch = math.floor(progress * config.epochs + 1e-9)
            x, y = b["retain"]
            return {"retain": F.cross_entropy(m(x).float(), y),
                    "l1": config.alpha * (1.0 - epoch / config.epochs)
                    * sum(p.abs().sum() for p in params)}

        trace = fit(model, ctx, config, schedule("retain", ctx, config), losses,
                    weighted_backward({"retain": 1.0, "l1": 1.0}), self.name)
        return UnlearnResult(model, trace)
