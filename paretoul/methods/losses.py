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

REFERENCES = ("auto", "uniform", "empirical-class", "empirical-marginal", "rank-calibrated")
REFERENCE_TARGETS = {
    "auto": "`uniform` when the forget set is whole classes (`class:...`), `rank-calibrated` when "
            "it is a random sample (`random:...`, which needs a reference set: a reference fraction "
            "> 0, else the spec is refused); a rule of the scenario, not a fallback",
    "uniform": "1/K on every class, for every forget sample (the paper's default; what an oracle does "
               "on a class it never saw)",
    "empirical-class": "for a forget sample of class y, the original's mean softmax over the held-out "
                       "reference samples of class y (the paper's empirical reference)",
    "empirical-marginal": "the original's mean softmax over the whole reference set, for every "
                          "forget sample (the paper's empirical reference, class-blind)",
    "rank-calibrated": "per forget sample (a paretoul extension, not the paper's): the true class "
                       "gets the original's confidence on held-out samples at the same quantile (the "
                       "sample's rank among the forget set's true-class confidences, mapped onto the "
                       "reference set's), the other classes keep the original's relative "
                       "probabilities; so the forget set's confidences take the distribution of "
                       "unseen samples and keep their order of difficulty, as an oracle's do",
}
"""What each ``reference`` makes the forget samples' target distribution."""
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
    if kind not in ("empirical-class", "empirical-marginal"):
        raise ValueError(f"unknown class-wise reference {kind!r}")
    ref = torch.as_tensor(splits.reference, device=data.device)
    if len(ref) == 0:
        raise ValueError("an empirical reference needs a non-empty reference set")
    probs = _softmax(model, data, ref, batch_size)
    if kind == "empirical-marginal":
        return probs.mean(0, keepdim=True).expand(k, k).clone()
    labels = data.train_y[ref]
    sums = torch.zeros(k, k, device=data.device).index_add_(0, labels, probs)
    counts = torch.bincount(labels, minlength=k).float()[:, None]
    return torch.where(counts > 0, sums / counts.clamp_min(1.0), uniform)


def _softmax(model: nn.Module, data: DataBundle, idx: torch.Tensor, batch_size: int = 1024
             ) -> torch.Tensor:
    """The model's softmax (eval mode, no gradient) on train-part samples ``idx``."""
    import torch

    was_training = model.training
    model.eval()
    with torch.no_grad():
        probs = torch.cat([torch.softmax(model(data.train_x[idx[i: i + batch_size]]).float(), dim=1)
                           for i in range(0, len(idx), batch_size)])
    model.train(was_training)
    return probs


def rank_calibrated(probs: torch.Tensor, labels: torch.Tensor, reference_confidences: torch.Tensor
                    ) -> torch.Tensor:
    """Per-sample targets (rows of ``probs``' shape) by rank-preserving calibration (see
    :data:`REFERENCE_TARGETS`): sample i's true-class probability becomes the reference
    confidences' empirical quantile at (rank_i + 0.5) / n, where rank_i is its true-class
    confidence's rank among the n samples (ties in index order); the other classes share the rest
    in the proportions ``probs`` gives them (uniformly where ``probs`` put all on the true class).

    With as many reference confidences as samples, the targets' true-class values are exactly the
    sorted reference confidences, assigned in the samples' order.
    """
    import torch

    n, k = probs.shape
    rows = torch.arange(n, device=probs.device)
    conf = probs[rows, labels]
    order = torch.sort(conf, stable=True).indices
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n, device=probs.device)
    ref_sorted = torch.sort(reference_confidences.float()).values
    m = len(ref_sorted)
    at = ((rank.double() + 0.5) / n * m).floor().long().clamp_(0, m - 1)
    target_conf = ref_sorted[at]
    others = probs.clone()
    others[rows, labels] = 0.0
    mass = others.sum(1, keepdim=True)
    spread = torch.full_like(others, 1.0 / max(k - 1, 1))
    spread[rows, labels] = 0.0
    share = torch.where(mass > 1e-12, others / mass.clamp_min(1e-12), spread)
    out = share * (1.0 - target_conf)[:, None]
    out[rows, labels] = target_conf
    return out


class Reference:
    """The forget samples' target distributions: rows by label (class-wise references) or by
    train-part index (per-sample ones). ``rows(y, index)`` gives a batch's targets."""

    def __init__(self, by_label: torch.Tensor | None = None, per_sample: torch.Tensor | None = None,
                 position: torch.Tensor | None = None, kind: str = "") -> None:
        self.by_label, self.per_sample, self.position, self.kind = by_label, per_sample, position, kind

    def rows(self, y: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        if self.per_sample is None:
            return self.by_label[y]  # type: ignore[index]
        if index is None:
            raise ValueError(f"reference {self.kind} needs the batch's sample indices")
        return self.per_sample[self.position[index]]  # type: ignore[index]

    def all_rows(self) -> torch.Tensor:
        return self.by_label if self.per_sample is None else self.per_sample  # type: ignore[return-value]


def resolve_reference(kind: str, splits: Splits) -> str:
    """The reference ``kind`` stands for: ``auto`` by the forget scenario (see
    :data:`REFERENCE_TARGETS`), any other as given."""
    if kind != "auto":
        return kind
    return "uniform" if splits.forgotten_classes else "rank-calibrated"


def forget_reference(kind: str, model: nn.Module, data: DataBundle, splits: Splits) -> Reference:
    """The targets of the forget samples under reference ``kind``, computed once from ``model``
    (the original, before any update); no gradient flows into them."""
    import torch

    kind = resolve_reference(kind, splits)
    if kind != "rank-calibrated":
        return Reference(by_label=reference_distribution(kind, model, data, splits), kind=kind)
    forget = torch.as_tensor(splits.forget, device=data.device)
    ref = torch.as_tensor(splits.reference, device=data.device)
    p_f, p_r = _softmax(model, data, forget), _softmax(model, data, ref)
    y_f, y_r = data.train_y[forget], data.train_y[ref]
    ref_conf = p_r[torch.arange(len(ref), device=data.device), y_r]
    position = torch.full((len(data.train_y),), -1, dtype=torch.long, device=data.device)
    position[forget] = torch.arange(len(forget), device=data.device)
    return Reference(per_sample=rank_calibrated(p_f, y_f, ref_conf), position=position, kind=kind)


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
