"""The results database: one Optuna RDB storage, one Optuna study per arm.

Anyone can open it with Optuna (``optuna.load_study``) or ``optuna-dashboard``.
Each trial holds its parameters and objective values; every metric, the seeds,
timings, the node it ran on and any error are user attributes.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import optuna

from paretoul import redact
from paretoul.errors import StudyStopped, UserError
from paretoul.study.storage import optuna_internals
from paretoul.study.storage.outcome import INTERRUPTED, outcome_of
from paretoul.study.storage.rungs import is_promotion

optuna.logging.set_verbosity(optuna.logging.ERROR)


SEARCH_DONE = "search_done"
"""Study user attribute: the arm's searcher ended after this many trials, short of its budget
(every distinct point of a finite space tried; pymoo individuals that repeat a point)."""
T = TypeVar("T")
log = logging.getLogger("paretoul")


def default_storage_url(study_dir: Path) -> str:
    return f"sqlite:///{(study_dir / 'study.db').resolve()}"


def check_database_file(url: str, study_dir: Path) -> None:
    """An SQLite URL whose file does not exist is a one-line UserError (opening it would create
    an empty database and show an empty study; a launch makes the file before anything else)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            where = f"{study_dir} holds" if url == default_storage_url(study_dir) else "there is"
            raise UserError("study", f"{where} no results database ({path} missing)")


def mask_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db`` (see
    :func:`paretoul.redact.mask_url`)."""
    return redact.mask_url(url)


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An RDB storage for ``url``; an unreachable database is a one-line UserError."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    else:  # a server that restarted leaves dead pooled connections: test each before use
        kwargs["engine_kwargs"] = {"pool_pre_ping": True}
        if url.startswith("postgresql"):  # and notice a server that vanished mid-connection
            kwargs["engine_kwargs"]["connect_args"] = {
                "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
    from sqlalchemy import exc

    for attempt in range(10):
        try:
            storage = optuna.storages.RDBStorage(url, **kwargs)
            break
        except (exc.IntegrityError, exc.ProgrammingError, exc.OperationalError) as e:
            # Another process is creating Optuna's tables in this empty database right now (a
            # second launcher, or a reader such as `study status`; SQLite says "table ...
            # already exists"): wait for it and open what it made.
            racing = not isinstance(e, exc.OperationalError) or "already exists" in str(e)
            if not racing:
                raise UserError("storage", f"cannot open {mask_url(url)}: {_first_line(e, url)}") from None
            if attempt == 9:
                raise
            time.sleep(0.3 * (attempt + 1))
        except Exception as e:  # sqlalchemy raises many kinds here
            raise UserError("storage", f"cannot open {mask_url(url)}: {_first_line(e, url)}") from None
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


def validation_study_name(study: str) -> str:
    """The Optuna study holding a study's held-out-seed evaluations (``paretoul validate``): one
    trial per (search trial, validation seed), apart from every arm's search. A study name
    holds no ``/`` or ``:``, so this never names an arm's study."""
    return f"{study}/validation"


def arm_study(storage: optuna.storages.BaseStorage, study: str, arm: str | None,
              directions: list[str], sampler: optuna.samplers.BaseSampler | None = None,
              names: list[str] | None = None) -> optuna.Study:
    """The arm's Optuna study (created on first use); ``arm`` None: the study named ``study``.
    ``names``: the objectives' metric names, set with ``set_metric_names`` so that
    optuna-dashboard and ``optuna.visualization`` label the axes (not "Objective 0")."""
    s = optuna.create_study(
        storage=storage, study_name=study if arm is None else arm_study_name(study, arm),
        load_if_exists=True,
        directions=["minimize" if d == "min" else "maximize" for d in directions], sampler=sampler,
    )
    if names is not None:
        labels = names if len(set(names)) == len(names) else [f"{n} ({i})" for i, n in enumerate(names)]
        if s.metric_names != labels:
            with warnings.catch_warnings():  # "experimental" since Optuna 3.2; stable in use
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                s.set_metric_names(labels)
    return s


def counted(t: optuna.trial.FrozenTrial) -> bool:
    """Whether a trial uses up budget: a new configuration (not a run of one on more seeds,
    :mod:`.rungs`), finished, failed for a reason of its own, or running."""
    return outcome_of(t).counted and not is_promotion(t)


def effective_budget(study_attrs: dict[str, Any], budget: int) -> int:
    """The arm's budget, or fewer trials where its searcher ended early (:data:`SEARCH_DONE`)."""
    done = study_attrs.get(SEARCH_DONE)
    return budget if done is None else min(budget, int(done))


def mark_interrupted(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Turn a trial left RUNNING (or enqueued and never asked, WAITING) by a launcher that is
    gone into FAIL(interrupted): it uses no budget and its parameters are run again."""
    why = "interrupted: the launcher stopped before the trial finished; it will be run again"
    optuna_internals.fail_trial(study, trial, {INTERRUPTED: True, "error": why})


class StorageLost(StudyStopped):
    """The database stopped answering for longer than the study's ``storage_retry_s``."""


def _transient(e: BaseException) -> bool:
    """A lost connection or a full disk: worth retrying; anything else is a bug to surface."""
    from sqlalchemy import exc

    seen: BaseException | None = e
    while seen is not None:  # Optuna wraps SQLAlchemy's errors (StorageInternalError)
        if isinstance(seen, exc.OperationalError | exc.InterfaceError) or (
                isinstance(seen, exc.DBAPIError) and seen.connection_invalidated):
            # SQLite reports a broken schema as an OperationalError too: that is no outage
            return not any(s in str(seen) for s in ("no such table", "no such column", "syntax error"))
        seen = seen.__cause__ or seen.__context__
    return False


def close(storage: optuna.storages.BaseStorage) -> None:
    """Return a storage's database connections (an API caller may open many studies)."""
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


def retrying(fn: Callable[[], T], url: str, limit_s: float, what: str) -> T:
    """Call ``fn``; while the database is unreachable, retry with backoff for up to ``limit_s``
    seconds, logging one line when it goes and one when it is back. Past the limit:
    :class:`StorageLost` with a one-line message (password masked)."""
    t0 = time.monotonic()
    delay = 0.5
    warned = False
    while True:
        try:
            out = fn()
        except Exception as e:
            if not _transient(e):
                raise
            first = _first_line(e, url)
            waited = time.monotonic() - t0
            state = "full (its disk)" if "disk is full" in first or "No space left" in first \
                else "unreachable"
            if waited >= limit_s:
                raise StorageLost(f"{mask_url(url)} {state} for {waited:.0f} s while {what} "
                                  f"({first})") from None
            if not warned:
                log.warning("storage: %s %s while %s (%s); retrying for up to %.0f s",
                            mask_url(url), state, what, first, limit_s)
                warned = True
            time.sleep(min(delay, max(0.0, limit_s - waited)))
            delay = min(delay * 2, 5.0)
            continue
        if warned:
            log.warning("storage: %s is back after %.0f s", mask_url(url), time.monotonic() - t0)
        return out


def _first_line(e: BaseException, url: str) -> str:
    while e.__cause__ is not None:  # the driver's own message is the telling one
        e = e.__cause__
    text = str(getattr(e, "orig", None) or e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    return redact.mask_secrets(first.replace(url, mask_url(url)))
