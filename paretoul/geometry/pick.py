"""One trial to show for an arm while it runs and in ``study status``: a point of its front.

The best value of each objective taken from different trials is no trial at all; this is
one real trial of the arm's front, the one nearest the ideal point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from paretoul.geometry.fronts import as_minimisation, non_dominated, normalise, normaliser


def front_pick(points: Sequence[tuple[int, Sequence[float]]], directions: list[str]
               ) -> dict[str, Any] | None:
    """One trial of the front of ``points`` (``(trial number, objective values)``): the one
    closest to the ideal point, each objective normalised over ``points`` (Euclidean) —
    ``{"trial", "values", "front"}`` (front = its size), or None without points."""
    if not points:
        return None
    G = as_minimisation(np.array([v for _, v in points], dtype=float), directions)
    idx = non_dominated(G)
    N = normalise(G[idx], *normaliser(G))
    k = int(idx[int(np.argmin(np.linalg.norm(N, axis=1)))])
    return {"trial": points[k][0], "values": [float(v) for v in points[k][1]], "front": len(idx)}


def describe_pick(pick: dict[str, Any] | None, objectives: list[str]) -> str:
    """``front 3, nearest ideal #7: forget_gap 1.73, retain_gap 0.42``."""
    if pick is None:
        return ""
    vals = ", ".join(f"{o} {v:.2f}" for o, v in zip(objectives, pick["values"], strict=True))
    return f"front {pick['front']}, nearest ideal #{pick['trial']}: {vals}"
