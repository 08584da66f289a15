"""Non-dominated fronts (pymoo's non-dominated sorting) and objective normalisation."""

from __future__ import annotations

import numpy as np


def as_minimisation(F: np.ndarray, directions: list[str]) -> np.ndarray:
    """Flip the sign of objectives to maximise, so every column is minimised."""
    signs = np.array([1.0 if d == "min" else -1.0 for d in directions])
    return np.asarray(F, dtype=float) * signs


def non_dominated(F: np.ndarray, directions: list[str] | None = None) -> np.ndarray:
    """Indices of the non-dominated rows of ``F`` (duplicates of a front point all kept)."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.asarray(F, dtype=float)
    if F.size == 0:
        return np.array([], dtype=int)
    G = as_minimisation(F, directions) if directions else F
    return np.sort(NonDominatedSorting().do(G, only_non_dominated_front=True)).astype(int)


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` dominates ``b`` (both already in minimisation form)."""
    return bool(np.all(a <= b) and np.any(a < b))


def normaliser(G: np.ndarray, pad: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` per column of a minimisation matrix; a zero range becomes 1."""
    low, high = G.min(axis=0), G.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    return low - pad * span, low + span * (1 + pad)


def normalise(G: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return (np.asarray(G, dtype=float) - low) / (high - low)


def rank_order(G: np.ndarray) -> np.ndarray:
    """Row indices of a minimisation matrix, best first: by non-dominated front (pymoo's
    sorting), within a front by crowding distance (larger first, extremes first), then by index
    (so ties are broken the same way every time). The order NSGA-II's survival and
    multi-objective successive halving (MOASHA) promote in."""
    from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    G = np.asarray(G, dtype=float)
    n = len(G)
    if n == 0:
        return np.array([], dtype=int)
    rank = np.empty(n, dtype=int)
    crowding = np.empty(n, dtype=float)
    for k, front in enumerate(NonDominatedSorting().do(G)):
        front = np.asarray(front, dtype=int)
        rank[front] = k
        crowding[front] = calc_crowding_distance(G[front]) if len(front) > 2 else np.inf
    return np.lexsort((np.arange(n), -crowding, rank)).astype(int)
