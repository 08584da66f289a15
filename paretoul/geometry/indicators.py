"""Quality indicators: hypervolume (pymoo), additive epsilon, dominance shares."""

from __future__ import annotations

import numpy as np

from paretoul.geometry.fronts import dominates, non_dominated


def hypervolume(G: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume of minimisation points ``G`` w.r.t. ``reference`` (points beyond it add 0)."""
    from pymoo.indicators.hv import HV

    G = np.asarray(G, dtype=float)
    if G.size == 0:
        return 0.0
    inside = G[np.all(reference > G, axis=1)]
    if len(inside) == 0:
        return 0.0
    return float(HV(ref_point=np.asarray(reference, dtype=float))(inside))


def additive_epsilon(A: np.ndarray, B: np.ndarray) -> float:
    """I_eps+(A, B): the least eps such that every b in B is weakly dominated by some a - eps.

    <= 0 means A weakly dominates B everywhere; smaller is better for A.
    """
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    if len(A) == 0 or len(B) == 0:
        return float("nan")
    # for each b: min over a of max over objectives of (a - b)
    diff = A[:, None, :] - B[None, :, :]
    return float(np.max(np.min(np.max(diff, axis=2), axis=0)))


def dominated_share(A: np.ndarray, B: np.ndarray) -> tuple[int, int]:
    """How many points of ``B`` are dominated by some point of ``A``: ``(count, len(B))``."""
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    count = sum(any(dominates(a, b) for a in A) for b in B)
    return int(count), len(B)


def front_points(G: np.ndarray) -> np.ndarray:
    return np.asarray(G)[non_dominated(G)] if len(G) else np.asarray(G)
