"""Successive halving over seeds: which configurations of an arm are due for more seeds.

An arm with ``fidelity: {seeds: [n0, n1, ..., N], eta, stop}`` runs every new configuration on
the study's first ``n0`` seeds (rung 0). A configuration finished at rung ``k`` is promoted to
rung ``k + 1`` (it runs seeds ``n_k .. n_{k+1} - 1``; its record there holds all ``n_{k+1}``)
as soon as it ranks in the top ``floor(m / eta)`` of the ``m`` configurations finished at rung
``k``, by non-dominated sorting with crowding distance breaking ties (multi-objective
asynchronous successive halving, Schmucker et al. 2021: MOASHA; seeds as the budget, as SMAC3's
instance-seed budgets). Failed configurations rank last. With ``stop: significant`` a
configuration outside the top is still promoted unless another one at its rung dominates it
beyond seed noise (:func:`dominated_beyond_noise`).

That rule (``promote: asynchronous``, the default) promotes more than ``1 / eta`` of an arm: a
configuration in the top share of the first few finished stays promoted when better ones
finish later (on the Fashion-MNIST study, 10-14 of 24 at ``eta: 3``). ``promote: synchronous``
is plain successive halving (Jamieson & Talwalkar 2016): a rung promotes once every
configuration due there has finished, exactly its top ``floor(m / eta)``; the arm's last
promotions then wait for its last new configuration.

Everything here is a function of the finished trials alone, so the promotions after a resume are
those an uninterrupted run makes (at ``max_concurrent: 1``, the same ones in the same order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from paretoul.geometry.fronts import as_minimisation, rank_order
from paretoul.study.storage.outcome import Outcome, outcome_of

if TYPE_CHECKING:
    import optuna

    from paretoul.study.spec import Fidelity

RUNG = "rung"
"""Trial user attribute: the rung (0: a new configuration; k: its promotion to rung k)."""
CONFIG = "config"
"""User attribute of a promotion trial: the number of its configuration's rung-0 trial."""
ALPHA = 0.05
"""Level of the one-sided paired t-test of ``stop: significant`` (per objective)."""


def rung_of(t: optuna.trial.FrozenTrial) -> int:
    return int(t.user_attrs.get(RUNG, 0))


def config_of(t: optuna.trial.FrozenTrial) -> int:
    """The configuration a trial measures: the number of its rung-0 trial."""
    return int(t.user_attrs.get(CONFIG, t.number))


def is_promotion(t: optuna.trial.FrozenTrial) -> bool:
    """A run of a configuration on more seeds (it uses no budget: the budget counts configurations)."""
    return rung_of(t) > 0


def rung_seeds(fidelity: Fidelity, seeds: Sequence[int], k: int) -> list[int]:
    """The seeds a configuration at rung ``k`` is measured on."""
    return list(seeds[: fidelity.seeds[k]])


def new_seeds(fidelity: Fidelity, seeds: Sequence[int], k: int) -> list[int]:
    """The seeds a run at rung ``k`` adds to the rung below."""
    return list(seeds[(fidelity.seeds[k - 1] if k else 0): fidelity.seeds[k]])


def dominated_beyond_noise(a: np.ndarray, b: np.ndarray, alpha: float = ALPHA) -> bool:
    """Whether ``b`` dominates ``a`` beyond seed noise: ``a`` and ``b`` are (seeds, objectives)
    values on the same seeds in minimisation form; on every objective a one-sided paired t-test
    of ``a - b > 0`` rejects at ``alpha`` (a difference of the same sign on every seed with no
    spread counts as beyond noise). Needs 2 seeds or more (one seed has no spread: False)."""
    from scipy.stats import t as student

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(d)
    if n < 2:
        return False
    critical = float(student.ppf(1 - alpha, n - 1))
    for col in d.T:
        mean, sd = float(col.mean()), float(col.std(ddof=1))
        if mean <= 0:
            return False
        if sd > 0 and mean / (sd / math.sqrt(n)) <= critical:
            return False
    return True


def qualifying(G: np.ndarray, per_seed: list[np.ndarray | None], eta: int, stop: str) -> list[int]:
    """Rows of the ``m`` configurations finished at one rung that qualify for the next, best
    first: the top ``floor(m / eta)`` by :func:`~paretoul.geometry.fronts.rank_order` (rows of
    ``G`` with a NaN — failed — rank last and never qualify), and with ``stop: significant``
    every finished one no other dominates beyond noise (``per_seed[i]``: row ``i``'s per-seed
    minimisation values)."""
    m = len(G)
    good = np.flatnonzero(~np.isnan(G).any(axis=1)) if m else np.zeros(0, dtype=int)
    ranked = [int(i) for i in good[rank_order(G[good])]] if len(good) else []
    top = set(ranked[: m // eta])
    if stop == "significant":
        for i in ranked:
            if i not in top and per_seed[i] is not None and not any(
                    j != i and per_seed[j] is not None and dominated_beyond_noise(per_seed[i], per_seed[j])
                    for j in ranked):
                top.add(i)
    return [i for i in ranked if i in top]


def due(trials: Sequence[optuna.trial.FrozenTrial], fidelity: Fidelity, objectives: list[str],
        directions: list[str], budget: int | None = None) -> list[tuple[optuna.trial.FrozenTrial, int]]:
    """Configurations due for promotion: ``(their finished trial at rung k, k + 1)``, highest
    rung first and best first within a rung. A configuration whose run at ``k + 1`` is claimed,
    running or finished is not due; one whose run there was interrupted is (it is run again).

    With ``promote: synchronous`` a rung promotes only once it is complete: rung 0 when
    ``budget`` configurations (the arm's) have finished there, rung ``k`` when every
    configuration promoted to it has; then exactly its top ``floor(m / eta)`` go on."""
    going, _ = ladder(trials, fidelity, objectives, directions, budget)
    return [pair for rung in reversed(going) for pair in rung]


def ladder(trials: Sequence[optuna.trial.FrozenTrial], fidelity: Fidelity, objectives: list[str],
           directions: list[str], budget: int | None = None
           ) -> tuple[list[list[tuple[optuna.trial.FrozenTrial, int]]], list[bool]]:
    """Per rung below the top: the promotions due from it (as :func:`due`), and whether its
    promotions are decided (always, asynchronously; once it is complete, synchronously)."""
    top = len(fidelity.seeds) - 1
    finished: dict[int, list[Any]] = {k: [] for k in range(top + 1)}
    claimed: dict[int, set[int]] = {k: set() for k in range(top + 1)}
    for t in trials:
        state = outcome_of(t)
        if state.counted:
            claimed[rung_of(t)].add(config_of(t))
        if state in (Outcome.COMPLETE, Outcome.FAILED):
            finished[rung_of(t)].append(t)
    synchronous = fidelity.promote == "synchronous"
    if synchronous and budget is None:
        raise ValueError("synchronous promotion needs the arm's budget")
    complete = not synchronous or len(finished[0]) >= (budget or 0)
    going: list[list[tuple[Any, int]]] = []
    decided: list[bool] = []
    for k in range(top):
        decided.append(complete)
        rows = sorted(finished[k], key=lambda t: t.number)
        if not complete or not rows:
            complete = not synchronous
            going.append([])
            continue
        G, per_seed = _table(rows, objectives, directions)
        up = [rows[i] for i in qualifying(G, per_seed, fidelity.eta, fidelity.stop)]
        going.append([(t, k + 1) for t in up if config_of(t) not in claimed[k + 1]])
        done_above = {config_of(t) for t in finished[k + 1]}
        complete = not synchronous or all(config_of(t) in done_above for t in up)
    return going, decided


def _table(rows: list[Any], objectives: list[str], directions: list[str]
           ) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Objective values (NaN rows: failed) and per-seed values of finished trials, minimisation form."""
    from optuna.trial import TrialState

    G = np.full((len(rows), len(objectives)), np.nan)
    per_seed: list[np.ndarray | None] = []
    for i, t in enumerate(rows):
        if t.state == TrialState.COMPLETE:
            G[i] = t.values
        seeds = t.user_attrs.get("metrics_per_seed") or []
        if t.state == TrialState.COMPLETE and seeds and all(o in s for s in seeds for o in objectives):
            per_seed.append(as_minimisation(np.array([[s[o] for o in objectives] for s in seeds]),
                                            directions))
        else:
            per_seed.append(None)
    return as_minimisation(G, directions), per_seed
