"""The database side of resume, without Ray: interrupted and stale queued trials."""

from __future__ import annotations

import optuna

from paretoul.study import store
from paretoul.study.searchers import GridArm
from paretoul.study.spec import parse_spec
from tests.study.conftest import SMALL


def test_running_and_waiting_trials_become_interrupted(tmp_path) -> None:
    storage = store.open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    study = store.arm_study(storage, "s", "a", ["min", "min"])
    study.ask()  # RUNNING
    study.enqueue_trial({"x": 1.0})  # WAITING, never asked
    done = study.ask()
    study.tell(done, [1.0, 2.0])
    assert store.mark_interrupted(study) == 1  # the RUNNING one; the queued one was just asked
    study.enqueue_trial({"x": 2.0})
    assert store.mark_interrupted(study) == 1  # now the WAITING one
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 2
    assert all(store.counted(t) is False for t in study.trials if t.state == optuna.trial.TrialState.FAIL)


def test_grid_arm_retires_a_stale_queued_trial(tmp_path) -> None:
    spec = parse_spec(SMALL)
    storage = store.open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    arm = GridArm(spec, 1, storage)  # sc-grid: w in 0, 0.5, 1
    arm.study.enqueue_trial({"w": 1.0})  # left behind by a launcher that died before asking
    params = arm.suggest("t1")
    assert params["w"] == 0.0
    pending = arm._pending["t1"]
    assert pending.params == {"w": 0.0}
    stale = [t for t in arm.study.trials if t.user_attrs.get(store.INTERRUPTED)]
    assert len(stale) == 1 and stale[0].params == {"w": 1.0}
    assert arm.remaining() == 2  # the stale trial does not use up budget
