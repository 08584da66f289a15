"""Output-level closeness between two models: Jensen-Shannon divergence of their softmax outputs."""

from __future__ import annotations

import math

import torch

_EPS = 1e-12


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Per-row JS divergence (natural log; 0 for equal rows, at most ln 2)."""
    p = p.double().clamp_min(_EPS)
    q = q.double().clamp_min(_EPS)
    p = p / p.sum(1, keepdim=True)
    q = q / q.sum(1, keepdim=True)
    m = 0.5 * (p + q)
    kl_pm = (p * (p / m).log()).sum(1)
    kl_qm = (q * (q / m).log()).sum(1)
    return (0.5 * (kl_pm + kl_qm)).clamp(0.0, math.log(2.0))


def mean_js(p: torch.Tensor, q: torch.Tensor) -> float:
    """Mean JS divergence over rows."""
    return float(js_divergence(p, q).mean())
