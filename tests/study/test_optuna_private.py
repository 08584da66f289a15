"""The one module that touches Optuna's private API, run against the installed Optuna: a trial's
database id, deleting a study user attribute, failing a trial from outside its ask/tell. An
Optuna upgrade that moves any of them fails here (and nowhere else needs to change)."""

from __future__ import annotations

import optuna

from paretoul.study.storage import optuna_internals, store


def _study(tmp_path, name: str = "s") -> optuna.Study:
    storage = store.open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    return optuna.create_study(study_name=name, storage=storage, load_if_exists=True)


def test_trial_id_is_the_storage_id_across_studies(tmp_path) -> None:
    a, b = _study(tmp_path, "a"), _study(tmp_path, "b")
    ta, tb = a.ask(), b.ask()
    ids = {optuna_internals.trial_id(ta), optuna_internals.trial_id(tb)}
    assert len(ids) == 2  # unique across the studies of one database, unlike trial numbers
    assert ta.number == tb.number == 0
    frozen = a.get_trials(deepcopy=False)[0]
    assert optuna_internals.trial_id(frozen) == optuna_internals.trial_id(ta)
    assert a._storage.get_trial(optuna_internals.trial_id(ta)).number == 0


def test_a_study_user_attr_is_deleted_on_an_rdb_storage_and_kept_in_memory(tmp_path) -> None:
    s = _study(tmp_path)
    s.set_user_attr("alive:x", 1.0)
    s.set_user_attr("other", 2)
    assert optuna_internals.remove_study_user_attr(s, "alive:x") is True
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    again = optuna.load_study(study_name="s", storage=store.open_storage(url))
    assert again.user_attrs == {"other": 2}
    memory = optuna.create_study()
    memory.set_user_attr("k", 1)
    assert optuna_internals.remove_study_user_attr(memory, "k") is False
    assert memory.user_attrs == {"k": 1}


def test_a_running_and_a_waiting_trial_are_failed_from_outside(tmp_path) -> None:
    s = _study(tmp_path)
    s.ask()
    s.enqueue_trial({})
    running, waiting = s.get_trials(deepcopy=False)
    assert (running.state, waiting.state) == (optuna.trial.TrialState.RUNNING,
                                              optuna.trial.TrialState.WAITING)
    for t in (running, waiting):
        optuna_internals.fail_trial(s, t, {"interrupted": True, "error": "gone"})
    for t in s.get_trials(deepcopy=False):
        assert t.state == optuna.trial.TrialState.FAIL
        assert t.user_attrs == {"interrupted": True, "error": "gone"}
