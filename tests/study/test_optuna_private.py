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



def test_nsga2s_cached_parent_population_is_dropped(tmp_path) -> None:
    """NSGA-II caches generation 1's parents under its key prefix at its first ask there; the
    drop clears it and the next ask selects (and caches) them again. That the cached read-back
    changes proposals is shown by the kill-and-resume tests in ``test_fidelity.py``."""
    s = optuna.create_study(directions=["minimize", "minimize"],
                            storage=store.open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    dists = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for i, values in enumerate([[4.0, 4.0], [3.0, 3.0], [1.0, 2.0], [2.0, 1.0]]):
        s.add_trial(optuna.trial.create_trial(params={"x": i / 4}, distributions=dists, values=values,
                                              system_attrs={"NSGAIISampler:generation": 0}))
    key = optuna.samplers.NSGAIISampler._get_parent_cache_key_prefix() + "1"

    def cache() -> object:
        return s._storage.get_study_system_attrs(s._study_id).get(key)

    s.sampler = optuna.samplers.NSGAIISampler(population_size=4, seed=1)
    s.tell(s.ask(fixed_distributions=dists), state=optuna.trial.TrialState.FAIL)
    assert cache() is not None
    optuna_internals.drop_parent_cache(s, s.sampler)
    assert cache() is None
    s.tell(s.ask(fixed_distributions=dists), state=optuna.trial.TrialState.FAIL)
    assert cache() is not None
    optuna_internals.drop_parent_cache(s, optuna.samplers.TPESampler())  # no cache: nothing to do
    assert cache() is not None
