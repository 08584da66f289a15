"""The results database: one Optuna RDB storage, one Optuna study per arm.

Anyone can open it with Optuna (``optuna.load_study``) or ``optuna-dashboard``.
Each trial holds its parameters and objective values; every metric, the seeds,
timings, the node it ran on and any error are user attributes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import optuna

from paretoul.errors import UserError

optuna.logging.set_verbosity(optuna.logging.ERROR)

INTERRUPTED = "interrupted"


def default_storage_url(study_dir: Path) -> str:
    return f"sqlite:///{(study_dir / 'study.db').resolve()}"


def mask_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An RDB storage for ``url``; an unreachable database is a one-line UserError."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    try:
        storage = optuna.storages.RDBStorage(url, **kwargs)
    except Exception as e:  # sqlalchemy raises many kinds here
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError("storage", f"cannot open {mask_url(url)}: {first}") from None
    if url.startswith("sqlite"):
        _sqlite_wal(storage)
    return storage


def _sqlite_wal(storage: optuna.storages.RDBStorage) -> None:
    """WAL journal: readers (``study status``) never block the launcher, and commits are
    cheap (``synchronous=NORMAL`` is still crash-safe in WAL mode; a power cut may lose
    the last commits, never corrupt the file)."""
    from sqlalchemy import event

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    event.listen(storage.engine, "connect", on_connect)
    storage.engine.dispose()  # connections opened before the listener get the pragmas too


def arm_study_name(study: str, arm: str) -> str:
    return f"{study}:{arm}"


def arm_study(storage: optuna.storages.BaseStorage, study: str, arm: str,
              directions: list[str]) -> optuna.Study:
    """The arm's Optuna study (created on first use)."""
    return optuna.create_study(
        storage=storage, study_name=arm_study_name(study, arm), load_if_exists=True,
        directions=["minimize" if d == "min" else "maximize" for d in directions],
    )


def counted(t: optuna.trial.FrozenTrial) -> bool:
    """Whether a trial uses up budget: finished, failed for a reason of its own, or running."""
    if t.state == optuna.trial.TrialState.FAIL:
        return not t.user_attrs.get(INTERRUPTED, False)
    return t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING,
                       optuna.trial.TrialState.WAITING)


def mark_interrupted(study: optuna.Study) -> int:
    """Turn trials left RUNNING (or enqueued and never asked, WAITING) by a launcher that died
    into FAIL(interrupted); return how many."""
    n = 0
    states = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    for t in study.get_trials(deepcopy=False, states=states):
        study._storage.set_trial_user_attr(t._trial_id, INTERRUPTED, True)
        study._storage.set_trial_user_attr(t._trial_id, "error", "interrupted: the launcher stopped "
                                           "before the trial finished; it will be run again")
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        n += 1
    return n
