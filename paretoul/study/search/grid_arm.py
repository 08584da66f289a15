"""``grid`` arms: the Cartesian product of the listed values, each point once (resume-exact)."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution

from paretoul.study.search.base import ArmSearcher
from paretoul.study.spec import StudySpec
from paretoul.study.storage import store


class GridArm(ArmSearcher):
    """``grid`` arms: the Cartesian product of the listed values, each point exactly once.

    The points still to run are read from the database, so a resumed study runs the
    points an interrupted launcher lost, and never a finished one again.
    """

    def __init__(self, spec: StudySpec, index: int, storage: optuna.storages.BaseStorage,
                 replicate: int = 0) -> None:
        super().__init__(spec, index, storage, replicate)
        arm = spec.arms[index]
        self.points = spec.resolved[index].points[: self.budget]
        self.dists = {k: CategoricalDistribution(list(v)) for k, v in arm.grid.items()}

    def _propose(self, trial_id: str) -> dict[str, Any] | None:
        taken = [t.params for t in self.study.get_trials(deepcopy=False) if store.counted(t)]
        todo = [p for p in self.points if p not in taken]
        if not todo:
            return None
        self._start(trial_id, todo[0])
        return {**self.fixed, **todo[0]}

