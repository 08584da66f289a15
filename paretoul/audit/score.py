"""The forget-quality score of the NeurIPS 2023 Machine Unlearning Challenge, as its reference
code computes it (google-deepmind/unlearning_evaluation @ ffae0ff, ``metric.py`` and the final
score in ``main.py``).

For each forget example, N retrained and N unlearned models each give a logit-scaled
confidence; the best single- and double-threshold attacks separating the two sets of N values
give (FPR, FNR) pairs, each an (ε, δ = 1e-5) bound; the example's ε is the largest. ε is then
bucketed in half units (bucket b worth 2^-b, up to ε = ceil(ln(N - 1))) and averaged over the
forget set; the final score multiplies it by the unlearned-to-retrained ratios of mean retain
and test accuracy.

This is a port, with the reference's grids, dtypes and rules for zero rates and degenerate
ranges, computed faster: a rule's rates depend only on how many of each set's N values it
catches, so the counts come from sorted values (``searchsorted``) instead of comparing every
value with every threshold, and ε from a table over the (N + 1)^2 possible counts. Where the
reference cannot give an answer, paretoul gives one and says so (README's fidelity table):

- ``metric.py``'s ``assert thr_eps`` raises on any array of more than one element; the
  intended check (some rule kept) is used instead;
- when every rule is dropped — both sets hold one and the same value — the reference fails
  (a max over nothing); the two sets are then indistinguishable and ε is 0.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch

DELTA = 1e-05
EPSILON_CAP = 50.0
THRESHOLDS_PER_UNIT = 100
BUFFER = 2.0
PEAKY_RATIO = 0.01
"""Below this ratio of the two sets' ranges, ε is the cap (the reference's early exit)."""
BUCKET = 0.5


def logit_scaled_confidence(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """log p_y - log(sum_{k != y} p_k) per row (``compute_logit_scaled_confidence``: the exp in
    the logits' own dtype, probabilities in float64, 1e-45 added inside both logs)."""
    z = np.asarray(logits) - np.max(logits, axis=1, keepdims=True)
    p = np.array(np.exp(z), dtype=np.float64)
    p /= np.sum(p, axis=1, keepdims=True)
    rows = np.arange(len(p))
    correct = p[rows, targets].copy()
    p[rows, targets] = 0
    return np.log(correct + 1e-45) - np.log(np.sum(p, axis=1) + 1e-45)


def max_epsilon(n_models: int) -> float:
    """The largest ε N models can resolve, as the score's buckets stop: ceil(ln(N - 1))."""
    return float(np.ceil(np.log(n_models - 1))) if n_models > 1 else -math.inf


def bucket_points(n_models: int) -> list[float]:
    """Points of each half-unit bucket [b/2, b/2 + 1/2): 2^-b, for the buckets below
    :func:`max_epsilon` (an ε at or past it scores 0)."""
    top = max_epsilon(n_models)
    return [2.0 ** -b for b in range(int(2 * top))] if top > 0 else []


def _epsilon_table(n: int) -> np.ndarray:
    """ε of a rule that catches ``tp`` of the positive set and ``fp`` of the negative one:
    ``table[tp, fp]`` (NaN: the rule is dropped; inf: perfect separation), in float32 as the
    reference computes it."""
    caught = np.arange(n + 1, dtype=np.float32)
    rate = caught / np.float32(n)  # each rate is a float32 mean of 0/1 values: k / N rounded
    miss = (np.float32(n) - caught) / np.float32(n)  # (N - k) / N, not 1 - k / N
    shape = (n + 1, n + 1)
    tpr, fnr = np.broadcast_to(rate[:, None], shape), np.broadcast_to(miss[:, None], shape)
    fpr, tnr = np.broadcast_to(rate[None, :], shape), np.broadcast_to(miss[None, :], shape)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # All-NaN pairs: dropped below
        eps = np.clip(np.nanmax([np.log(1 - DELTA - fpr) - np.log(fnr),
                                 np.log(1 - DELTA - fnr) - np.log(fpr)], axis=0), 0, None)
    perfect = ((fpr + fnr) == 0) & ((tpr + tnr) == 2)
    eps = np.where(perfect, np.inf, eps)
    return np.where(~perfect & (fpr * fnr == 0), np.nan, eps)


def _double_thresholds(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(left, right) bounds of the double-threshold rules and whether the sets were swapped
    (``_get_double_threshold_rates``: 'positive' becomes the peakier set)."""
    pos_diff, neg_diff = pos.max() - pos.min(), neg.max() - neg.min()
    width = neg_diff if pos_diff > neg_diff else pos_diff
    swapped = pos_diff >= neg_diff
    peaky = neg if swapped else pos
    low, high = peaky.min() + width - BUFFER, peaky.max() + BUFFER
    right = np.linspace(low, high, num=int(np.ceil((high - low) * THRESHOLDS_PER_UNIT)))
    n_left = int(np.ceil(2 * BUFFER * THRESHOLDS_PER_UNIT))
    left = np.concatenate([np.linspace(r - width - BUFFER, r - width + BUFFER, num=n_left)
                           for r in right]) if len(right) else np.zeros(0)
    return left, np.repeat(right, n_left), bool(swapped)


def _single_thresholds(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """``_get_single_threshold_rates``'s grid: torch's linspace over both sets' range (float32
    thresholds, compared with the float64 confidences)."""
    both = torch.from_numpy(np.concatenate([pos, neg]))
    low, high = both.min(), both.max()
    num = int(torch.ceil((high - low) * THRESHOLDS_PER_UNIT))
    return torch.linspace(low, high, num).numpy().astype(np.float64)


def _inside(sorted_values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """How many values lie in [left, right] (both ends included; none when left > right)."""
    return np.maximum(np.searchsorted(sorted_values, right, side="right")
                      - np.searchsorted(sorted_values, left, side="left"), 0)


def example_epsilon(pos: np.ndarray, neg: np.ndarray, table: np.ndarray | None = None) -> float:
    """ε of one forget example from its N positive and N negative confidences (the positive
    set is the one with the larger median; see :func:`epsilons`)."""
    n = len(pos)
    pos_diff, neg_diff = pos.max() - pos.min(), neg.max() - neg.min()
    largest = pos_diff if pos_diff > neg_diff else neg_diff
    smallest = neg_diff if pos_diff > neg_diff else pos_diff
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.float64(smallest) / np.float64(largest) < PEAKY_RATIO:
            return EPSILON_CAP
    table = _epsilon_table(n) if table is None else table
    left, right, swapped = _double_thresholds(pos, neg)
    p, q = (neg, pos) if swapped else (pos, neg)
    ps, qs = np.sort(p), np.sort(q)
    tp_d, fp_d = _inside(ps, left, right), _inside(qs, left, right)
    t = _single_thresholds(pos, neg)
    tp_s = n - np.searchsorted(np.sort(pos), t, side="left")  # values >= t
    fp_s = n - np.searchsorted(np.sort(neg), t, side="left")
    # each distinct (tp, fp) pair once: the table gives its ε
    pairs = np.unique(np.concatenate([tp_d * (n + 1) + fp_d, tp_s * (n + 1) + fp_s]))
    eps = table[pairs // (n + 1), pairs % (n + 1)]
    eps = eps[~np.isnan(eps)]
    if eps.size == 0:  # every rule dropped: the two sets are one and the same value
        return 0.0
    return float(min(max(float(np.max(eps)), 0.0), EPSILON_CAP))


def epsilons(unlearned: np.ndarray, retrained: np.ndarray) -> np.ndarray:
    """Per forget example, ε from ``[N models, examples]`` confidences of each kind."""
    U, R = np.asarray(unlearned, dtype=np.float64), np.asarray(retrained, dtype=np.float64)
    if U.shape != R.shape or U.ndim != 2:
        raise ValueError(f"confidences must be [models, examples] of one shape; got {U.shape} "
                         f"and {R.shape}")
    if not (np.isfinite(U).all() and np.isfinite(R).all()):
        raise ValueError("a confidence is NaN or infinite")
    retrain_positive = np.median(R, axis=0) > np.median(U, axis=0)
    pos = np.where(retrain_positive, R, U)
    neg = np.where(retrain_positive, U, R)
    table = _epsilon_table(U.shape[0])
    return np.array([example_epsilon(pos[:, i], neg[:, i], table) for i in range(U.shape[1])])


@dataclass(frozen=True)
class ForgetScore:
    """The score of one audit, and what it is made of."""

    n_models: int
    epsilons: np.ndarray
    forget_quality: float
    """Mean bucket points over the forget examples (1 = indistinguishable from retraining)."""
    points: list[float]

    @property
    def mean_epsilon(self) -> float:
        return float(np.mean(self.epsilons))

    def histogram(self) -> list[tuple[float, int]]:
        """(bucket start, examples) per half-unit bucket; the last one counts ε at or past
        :func:`max_epsilon` (worth 0)."""
        top = len(self.points) * BUCKET
        starts = [b * BUCKET for b in range(len(self.points))]
        counts = [int(np.sum((self.epsilons >= s) & (self.epsilons < s + BUCKET))) for s in starts]
        return [*zip(starts, counts, strict=True), (top, int(np.sum(self.epsilons >= top)))]


def forget_score(unlearned: np.ndarray, retrained: np.ndarray) -> ForgetScore:
    """``compute_forget_score_from_confs``: bucket points averaged over the forget examples."""
    eps = epsilons(unlearned, retrained)
    points = bucket_points(np.asarray(unlearned).shape[0])
    total = 0.0
    for e in eps:
        for b, value in enumerate(points):
            if e < b * BUCKET + BUCKET:
                total += value
                break
    return ForgetScore(np.asarray(unlearned).shape[0], eps, total / len(eps), points)


def final_score(forget_quality: float, retain_unlearned: list[float], retain_retrained: list[float],
                test_unlearned: list[float], test_retrained: list[float]) -> float:
    """``main.py``: forget quality x (mean RA unlearned / retrained) x (mean TA unlearned /
    retrained); accuracies per model, ratios not clipped (they may pass 1)."""
    return float(forget_quality * (np.mean(retain_unlearned) / np.mean(retain_retrained))
                 * (np.mean(test_unlearned) / np.mean(test_retrained)))
