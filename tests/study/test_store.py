"""The database side of resume, without Ray: interrupted and stale queued trials."""

from __future__ import annotations

import subprocess
import time

import optuna
import pytest

from paretoul.errors import UserError
from paretoul.study.search import GridArm
from paretoul.study.spec import parse_spec
from paretoul.study.storage import leases, outcome, store
from tests.study.conftest import SMALL


def test_trials_of_a_dead_launcher_become_interrupted_and_a_live_ones_do_not(tmp_path) -> None:
    storage = store.open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    study = store.arm_study(storage, "s", "a", ["min", "min"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = f"{leases._host()}:{dead.pid}:1"
    study.enqueue_trial({}, user_attrs={leases.LAUNCHER: gone})
    study.ask()  # RUNNING, claimed by a launcher that has exited
    study.enqueue_trial({}, user_attrs={leases.LAUNCHER: leases.launcher_id()})
    mine = study.ask()  # RUNNING, ours and in flight
    study.enqueue_trial({}, user_attrs={leases.LAUNCHER: leases.launcher_id()})
    orphan = study.ask()  # RUNNING, ours but in flight nowhere (a claim cut short)
    study.enqueue_trial({}, user_attrs={leases.LAUNCHER: "elsewhere:1:1"})
    remote = study.ask()  # another host, heartbeating
    study.set_user_attr("alive:elsewhere:1:1", 1000.0)
    done = study.ask()
    study.tell(done, [1.0, 2.0])
    study.enqueue_trial({"x": 1.0}, user_attrs={leases.LAUNCHER: gone})  # WAITING, never asked
    in_flight = {mine._trial_id}
    assert leases.reap(study, in_flight, stale_after=0.5) == 3  # dead launcher's two + the orphan
    states = {t.number: t.state for t in study.trials}
    assert states[mine.number] == states[remote.number] == optuna.trial.TrialState.RUNNING
    assert states[orphan.number] == optuna.trial.TrialState.FAIL
    assert all(store.counted(t) is False for t in study.trials if t.state == optuna.trial.TrialState.FAIL)
    time.sleep(0.6)
    study.set_user_attr("alive:elsewhere:1:1", 1010.0)  # its heartbeat moved on: alive
    assert leases.reap(study, in_flight, stale_after=0.5) == 0
    time.sleep(0.6)
    assert leases.reap(study, in_flight, stale_after=0.5) == 1  # it stopped changing: gone
    assert study.trials[remote.number].user_attrs[outcome.INTERRUPTED] is True
    assert study.trials[mine.number].state == optuna.trial.TrialState.RUNNING


def test_grid_arm_retires_a_stale_queued_trial(tmp_path) -> None:
    spec = parse_spec(SMALL)
    storage = store.open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    arm = GridArm(spec, 1, storage)  # sc-grid: w in 0, 0.5, 1
    arm.study.enqueue_trial({"w": 1.0})  # left behind by a launcher that died before asking
    params = arm.suggest("t1")
    assert params["w"] == 0.0
    pending = arm._pending["t1"]
    assert pending.params == {"w": 0.0}
    stale = [t for t in arm.study.trials if t.user_attrs.get(outcome.INTERRUPTED)]
    assert len(stale) == 1 and stale[0].params == {"w": 1.0}
    assert arm.remaining() == 2  # the stale trial does not use up budget


def test_a_different_spec_under_the_same_study_name_is_refused(tmp_path) -> None:
    storage = store.open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    GridArm(parse_spec(SMALL), 1, storage)
    GridArm(parse_spec(SMALL), 1, storage)  # the same spec joins
    changed = {**SMALL, "arms": [*SMALL["arms"][:1], {**SMALL["arms"][1], "grid": {"w": [0.0, 0.9]}},
                                 *SMALL["arms"][2:]]}
    with pytest.raises(UserError, match=r"spec: arm 'sc-grid' of study 'small' already exists"):
        GridArm(parse_spec(changed), 1, storage)


def test_claim_lock_serialises_launchers(tmp_path) -> None:
    """Two processes claiming through the lock never overlap inside it."""
    import multiprocessing as mp

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store.open_storage(url)
    log = tmp_path / "log"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_hold_lock, args=(url, str(log), k, barrier)) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    events = log.read_text().split()
    assert len(events) == 2 * 2 * 5
    for i in range(0, len(events), 2):  # every "in" is followed by the same holder's "out"
        assert events[i].startswith("in") and events[i + 1] == "out" + events[i][2:]


def _hold_lock(url: str, log: str, k: int, barrier) -> None:
    storage = store.open_storage(url)
    barrier.wait()  # both start claiming at the same moment
    for _ in range(5):
        with leases.claim_lock(storage, "s"):
            with open(log, "a") as fh:
                fh.write(f"in{k} ")
            time.sleep(0.05)
            with open(log, "a") as fh:
                fh.write(f"out{k} ")


def test_a_finished_launcher_removes_its_heartbeat(tmp_path) -> None:
    storage = store.open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    study = store.arm_study(storage, "s", "a", ["min", "min"])
    key = "alive:" + leases.launcher_id()
    with leases.Heartbeat([study], interval=60):
        assert study.user_attrs[key] > 0
    reopened = optuna.load_study(study_name=study.study_name, storage=f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert key not in reopened.user_attrs and not any(k.startswith("alive:") for k in reopened.user_attrs)
    # a remote launcher's trial whose beat is gone is orphaned at once, no grace period
    study.enqueue_trial({}, user_attrs={leases.LAUNCHER: "elsewhere:2:2"})
    study.ask()
    assert leases.reap(study, set(), stale_after=3600) == 1
    memory = optuna.create_study(directions=["minimize", "minimize"])  # cannot delete: marks 0
    with leases.Heartbeat([memory], interval=60):
        pass
    assert memory.user_attrs[key] == 0.0


def test_processes_creating_one_new_sqlite_database_at_once_all_open_it(tmp_path) -> None:
    """A launcher creating a study's database while another opener (a second launcher, a
    `study status`) creates it too: SQLite's "table ... already exists" is waited out, not an
    error (four openers at once, ten fresh databases)."""
    import threading

    errors: list[str] = []
    for r in range(10):
        url = f"sqlite:///{tmp_path / f'study-{r}.db'}"
        go = threading.Barrier(4)

        def one(url: str = url, go: threading.Barrier = go) -> None:
            go.wait()
            try:
                store.close(store.open_storage(url))
            except BaseException as e:
                errors.append(f"{type(e).__name__}: {e}")

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
