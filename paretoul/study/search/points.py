"""Parameter sets as searchers hand them out: exact keys, per-slot seeds, untried points.

What keeps a study's search the same across launches (a seed per budget slot, not per
launch) and free of repeats (exact keys; an untried point when a sampler keeps repeating).
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution


def slot_seed(seed: int, slot: int, attempt: int = 0) -> int:
    """Sampler seed for an arm's ``slot``-th trial (``attempt``-th proposal for it): a function
    of the arm's seed and the trial's place in the budget only."""
    return int(np.random.SeedSequence([seed, slot, attempt]).generate_state(1)[0])


def param_key(params: dict[str, Any]) -> str:
    """A parameter set as a hashable, exact key (floats by their shortest exact repr)."""
    return json.dumps(params, sort_keys=True, default=repr)


def _values(d: Any) -> list[Any]:
    if isinstance(d, CategoricalDistribution):
        return list(d.choices)
    return list(range(int(d.low), int(d.high) + 1, int(d.step or 1)))


def untried_point(dists: dict[str, Any], taken: set[str] | dict[str, Any], rng: np.random.Generator,
                  enumerate_up_to: int = 100_000) -> dict[str, Any] | None:
    """A parameter set not in ``taken`` (keys from :func:`param_key`), drawn at random; None
    when a finite space has no untried point left."""
    if all(isinstance(d, IntDistribution | CategoricalDistribution) for d in dists.values()):
        axes = {n: _values(d) for n, d in dists.items()}
        if math.prod(len(v) for v in axes.values()) <= enumerate_up_to:
            points = (dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values()))
            free = [p for p in points if param_key(p) not in taken]
            return free[int(rng.integers(len(free)))] if free else None

    def draw(d: Any) -> Any:
        if isinstance(d, FloatDistribution):
            if d.log:
                return float(math.exp(rng.uniform(math.log(d.low), math.log(d.high))))
            return float(rng.uniform(d.low, d.high))
        values = _values(d)
        return values[int(rng.integers(len(values)))]

    for _ in range(1000):
        p = {n: draw(d) for n, d in dists.items()}
        if param_key(p) not in taken:
            return p
    return None
