"""How a study searches: the claim protocol (:mod:`.base`), one module per strategy (Optuna
samplers, grid, pymoo's NSGA-II) and the Ray Tune searcher that serves them all (:mod:`.tune`)."""

from __future__ import annotations

import optuna

from paretoul.study.search.base import ArmSearcher, distributions
from paretoul.study.search.grid_arm import GridArm
from paretoul.study.search.optuna_arm import OptunaArm
from paretoul.study.search.pymoo_arm import PymooArm
from paretoul.study.spec import StudySpec

STRATEGIES: dict[str, type[ArmSearcher]] = {"optuna": OptunaArm, "random": OptunaArm, "grid": GridArm,
                                            "pymoo": PymooArm}
"""``searcher.type`` -> the class that serves an arm of that type."""


def make_arm(spec: StudySpec, index: int, storage: optuna.storages.BaseStorage,
             replicate: int = 0) -> ArmSearcher:
    """The searcher of one search run: arm ``index``, replicate ``replicate``."""
    return STRATEGIES[spec.arms[index].searcher.type](spec, index, storage, replicate)


__all__ = ["STRATEGIES", "ArmSearcher", "GridArm", "OptunaArm", "PymooArm", "distributions", "make_arm"]
