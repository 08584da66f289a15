"""Every use of Optuna's private API in paretoul, in one place: a trial's database id, a
study's storage, deleting a study user attribute (Optuna has none), setting a trial's state
from outside its own ask/tell, and dropping NSGA-II's cached parent populations.
``tests/study/test_optuna_private.py`` runs each against the installed Optuna, so an upgrade
that moves one fails there first."""

from __future__ import annotations

from typing import Any

import optuna


def trial_id(trial: optuna.trial.BaseTrial | optuna.trial.FrozenTrial) -> int:
    """The trial's id in its storage (unique across the studies of one database)."""
    return trial._trial_id  # type: ignore[union-attr]


def _rdb(study: optuna.Study) -> optuna.storages.RDBStorage | None:
    storage = study._storage
    rdb = getattr(storage, "_backend", storage)  # optuna wraps an RDBStorage in _CachedStorage
    return rdb if isinstance(rdb, optuna.storages.RDBStorage) else None


def remove_study_user_attr(study: optuna.Study, key: str) -> bool:
    """Delete a study user attribute: on an RDB storage (SQLite, PostgreSQL) its row is deleted;
    False for other storages, which keep it."""
    rdb = _rdb(study)
    if rdb is None:
        return False
    from optuna.storages._rdb.models import StudyUserAttributeModel as Attr
    from sqlalchemy import delete

    with rdb.engine.begin() as conn:
        conn.execute(delete(Attr.__table__).where(Attr.__table__.c.study_id == study._study_id,
                                                   Attr.__table__.c.key == key))
    return True


def fail_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial, attrs: dict[str, Any]) -> None:
    """Set ``attrs`` on a trial another process claimed (RUNNING, or WAITING in the queue) and
    mark it FAIL, without the ask/tell handle its claimant held."""
    for key, value in attrs.items():
        study._storage.set_trial_user_attr(trial_id(trial), key, value)
    study._storage.set_trial_state_values(trial_id(trial), optuna.trial.TrialState.FAIL)


def drop_parent_cache(study: optuna.Study, sampler: optuna.samplers.BaseSampler) -> None:
    """Make Optuna's genetic samplers (NSGA-II) select a generation's parents afresh at every ask.

    Optuna caches a generation's parent population in the study's system attributes at its
    first ask, and a later ask reads it back in trial order instead of the selection order the
    first one used; its offspring's parents are drawn by index, so the same ask proposes
    different points with and without the cache (Optuna 5.1). Cleared before each ask, every
    proposal is a function of the finished trials, the same in a resumed run as in one never
    interrupted."""
    prefix = getattr(sampler, "_get_parent_cache_key_prefix", None)
    if prefix is None:
        return
    key = prefix()
    for name, value in study._storage.get_study_system_attrs(study._study_id).items():
        if name.startswith(key) and value is not None:
            study._storage.set_study_system_attr(study._study_id, name, None)
