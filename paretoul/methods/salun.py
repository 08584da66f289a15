"""``salun``: saliency-masked random labelling (Fan et al., ICLR 2024), as its reference code runs it.

The mask keeps the weights whose forget-loss gradient magnitude is in the top ``mask_ratio``
fraction (one global ranking). Random-label updates then move only those weights: each step
masks the gradient, and after it the masked-out weights are put back to their values before
unlearning and their momentum entries zeroed (the reference's commit "Fix weight decay (#33)"),
so weight decay and momentum cannot move them either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.fidelity import Fidelity
from paretoul.methods._relabel import RELABEL_NOTES, RelabelConfig, relabel_losses
from paretoul.methods._sgd import fit, schedule
from paretoul.methods.base import Method, UnlearnContext, UnlearnResult, register_method
from paretoul.methods.space import float_param, int_param

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class SalUnConfig(RelabelConfig):
    mask_ratio: float = 0.5
    """Fraction of weights kept trainable (largest forget-gradient magnitudes)."""

    def checks(self) -> list[tuple[str, bool, str]]:
        return [*super().checks(), ("mask_ratio", 0.0 < self.mask_ratio <= 1.0, "must be in (0, 1]")]


def saliency_mask(model: nn.Module, ctx: UnlearnContext, ratio: float,
                  batch_size: int) -> list[torch.Tensor]:
    """Boolean masks, one per parameter: the top ``int(ratio * P)`` of the P weights by |gradient|
    of the forget cross-entropy summed over forget batches (batch means, model in eval mode), as
    the reference's ``generate_mask.py``."""
    import torch
    import torch.nn.functional as F

    params = [p for p in model.parameters() if p.requires_grad]
    grads = [torch.zeros_like(p) for p in params]
    forget = torch.as_tensor(ctx.splits.forget, device=ctx.device)
    model.eval()
    for i in range(0, len(forget), batch_size):
        idx = forget[i : i + batch_size]
        loss = F.cross_entropy(model(ctx.data.train_x[idx]).float(), ctx.data.train_y[idx])
        for acc, g in zip(grads, torch.autograd.grad(loss, params), strict=True):
            acc += g
    flat = torch.cat([g.abs().flatten() for g in grads])
    keep = torch.zeros(flat.numel(), dtype=torch.bool, device=flat.device)
    keep[torch.topk(flat, max(1, int(ratio * flat.numel())), sorted=False).indices] = True
    return [m.view_as(g) for m, g in zip(keep.split([g.numel() for g in grads]), grads, strict=True)]


class MaskedUpdate:
    """The reference's rule: mask the gradient before the step; after it, reset masked-out weights
    to their values before unlearning and zero their momentum entries."""

    def __init__(self, params: list[nn.Parameter], masks: list[torch.Tensor]) -> None:
        self.params, self.masks = params, masks
        self.theta0 = [p.detach().clone() for p in params]

    def mask_grads(self) -> None:
        for p, m in zip(self.params, self.masks, strict=True):
            if p.grad is not None:
                p.grad.mul_(m)

    def after_step(self, opt: torch.optim.Optimizer) -> None:
        import torch

        with torch.no_grad():
            for p, m, t0 in zip(self.params, self.masks, self.theta0, strict=True):
                p.copy_(torch.where(m, p, t0))  # exact: a masked-out weight is its old value, bit for bit
                buf = opt.state.get(p, {}).get("momentum_buffer")
                if buf is not None:
                    buf.masked_fill_(~m, 0.0)


@register_method
class SalUn(Method):
    name = "salun"
    fidelity = Fidelity(
        'SalUn (`generate_mask.py` + `RL.py` with a mask)',
        'mask: abs of the sum over forget batches of ∇ of the batch-mean CE (model in eval mode),'
        ' the top `int(ratio·P)` weights by rank; RL with the gradient masked, and after each '
        'step masked-out weights reset to their values before unlearning and their momentum '
        'zeroed (so weight decay and momentum cannot move them)',
        "the same; tests: the mask equals the ported rule's, weights agree with the ported loop "
        'after 2 epochs with weight decay, and masked-out weights are bit-identical to the '
        "original's (before: weight decay and momentum moved all 42,501 masked-out weights of the"
        ' digits MLP in 2 epochs)',
        "the mask's forget batches are taken in index order (the reference's loader is shuffled; "
        "only the last batch's composition can differ)")
    summary = "random labelling restricted to the most forget-salient weights (gradient mask)"
    notes = (RELABEL_NOTES + " Weights outside the saliency mask stay exactly at the original's "
             "values for the whole run (gradient masked; after each step masked-out weights "
             "reset and their momentum zeroed, as the reference since its weight-decay fix).")
    Config = SalUnConfig
    space = (
        float_param("lr", 1e-3, 1e-1, log=True, help="SGD learning rate"),
        int_param("epochs", 1, 15, help="epochs (forget pass + retain pass each)"),
        float_param("mask_ratio", 0.1, 0.9, help="fraction of weights updated"),
    )

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: SalUnConfig) -> UnlearnResult:
        from paretoul.training import weighted_backward

        masks = saliency_mask(model, ctx, config.mask_ratio, config.batch_size)
        update = MaskedUpdate([p for p in model.parameters() if p.requires_grad], masks)
        backward = weighted_backward({"forget_relabelled": 1.0, "retain": 1.0})

        def combine(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            backward(named)
            update.mask_grads()
            return {}

        losses = relabel_losses(ctx.data.num_classes, ctx.stream("labels"), config.random_labels)
        trace = fit(model, ctx, config, schedule(config.schedule, ctx, config), losses, combine,
                    self.name, after_step=update.after_step)
        trace["mask_kept"] = [float(sum(int(m.sum()) for m in masks)) / sum(m.numel() for m in masks)]
        return UnlearnResult(model, trace)
