"""RAUL's losses: the forget KL and retain CE, and the reference distributions forget samples
are aligned to. (A study's "objectives" are metrics; these are the losses a method descends.)

RAUL (``raul``) and its fixed-weight twin (``scalarized``) both call these
functions, so the two differ only in how the two gradients are combined.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from paretoul.data.base import DataBundle
from paretoul.data.splits import Splits

if TYPE_CHECKING:
    import torch
    from torch import nn

REFERENCES = ("uniform", "empirical-class", "empirical-marginal")
KL_DIRECTIONS = ("model_to_ref", "ref_to_model")
_EPS = 1e-8


def reference_distribution(
    kind: str, model: nn.Module, data: DataBundle, splits: Splits, batch_size: int = 1024
) -> torch.Tensor:
    """A (K, K) matrix whose row ``y`` is p_ref for a forget sample of label ``y``.

    - ``uniform``: every row is 1/K;
    - ``empirical-class``: row ``c`` is the mean softmax of ``model`` (the original)
      over held-out reference samples of class ``c`` (the uniform row where a class
      has no reference sample);
    - ``empirical-marginal``: every row is the mean softmax over the whole reference set.

    No gradient flows into the result.
    """
    import torch

    k = data.num_classes
    uniform = torch.full((k, k), 1.0 / k, device=data.device)
    if kind == "uniform":
        return uniform
    if kind not in REFERENCES:
        raise ValueError(f"unknown reference {kind!r}")
    ref = torch.as_tensor(splits.reference, device=data.device)
    if len(ref) == 0:
        raise ValueError("an empirical reference needs a non-empty reference set")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        probs = torch.cat([
            torch.softmax(model(data.train_x[ref[i : i + batch_size]]).float(), dim=1)
            for i in range(0, len(ref), batch_size)
        ])
    model.train(was_training)
    if kind == "empirical-marginal":
        return probs.mean(0, keepdim=True).expand(k, k).clone()
    labels = data.train_y[ref]
    sums = torch.zeros(k, k, device=data.device).index_add_(0, labels, probs)
    counts = torch.bincount(labels, minlength=k).float()[:, None]
    return torch.where(counts > 0, sums / counts.clamp_min(1.0), uniform)


def forget_kl(
    logits: torch.Tensor,
    p_ref: torch.Tensor,
    direction: str = "model_to_ref",
    temperature: float = 1.0,
) -> torch.Tensor:
    """Mean KL between the model's softmax and ``p_ref`` (rows per sample), both tempered.

    At temperature T the model side is softmax(z / T) and the reference side softmax(log p_ref / T)
    (p_ref^(1/T), renormalised): tempering both sides as distillation does keeps the minimum where
    the model's untempered softmax equals p_ref, whatever T; T changes only the path there (a
    uniform reference is unchanged by tempering). ``model_to_ref`` = KL(p_model || p_ref), bounded
    by max(-log p_ref) (log K for uniform); ``ref_to_model`` = KL(p_ref || p_model), a soft-label
    cross-entropy, unbounded.
    """
    import torch.nn.functional as F

    log_p = F.log_softmax(logits.float() / temperature, dim=1)
    log_ref = p_ref.float().clamp_min(_EPS).log()
    if temperature != 1.0:
        log_ref = F.log_softmax(log_ref / temperature, dim=1)
    if direction == "model_to_ref":
        return (log_p.exp() * (log_p - log_ref)).sum(1).mean()
    if direction == "ref_to_model":
        ref = p_ref.float() if temperature == 1.0 else log_ref.exp()
        return (ref * (log_ref - log_p)).sum(1).mean()
    raise ValueError(f"unknown KL direction {direction!r}")


def retain_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on a retain batch."""
    import torch.nn.functional as F

    return F.cross_entropy(logits.float(), y)


def kl_bound(p_ref: torch.Tensor) -> float:
    """The largest value KL(p_model || p_ref) can take for these reference rows."""
    return float(-p_ref.clamp_min(_EPS).log().min()) if p_ref.numel() else math.nan
