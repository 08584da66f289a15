"""Launch, resume and summarise studies: spec -> shared artefacts -> Ray Tune -> database."""

from __future__ import annotations

import errno
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from ray import tune

from paretoul.errors import StudyInterrupted, StudyStopped, UserError
from paretoul.execution import cluster
from paretoul.execution.hard_stop import HardStop
from paretoul.execution.interrupt import Interrupt
from paretoul.execution.progress import Progress
from paretoul.execution.shipping import SharedSetting
from paretoul.execution.trial import prepare_shared, trainable
from paretoul.one_run import library_versions, machine_facts
from paretoul.study.search import make_arm
from paretoul.study.search.tune import StopWhenLost, StudySearcher
from paretoul.study.spec import StudySpec, check_data_root, load_spec
from paretoul.study.storage import leases, store
from paretoul.study.storage.layout import (
    BASELINES,
    META_FILE,
    SPEC_FILE,
    load_study_spec,
    read_meta,
    storage_url_of,
    write_meta,
)
from paretoul.study.storage.status import arm_counts, study_status

log = logging.getLogger("paretoul")
T = TypeVar("T")


@dataclass
class LaunchOptions:
    out: str | Path | None = None
    address: str | None = None
    storage: str | None = None
    max_concurrent: int | None = None
    quiet: bool = False
    cache_dir: str | Path | None = None


def study_dir_of(spec: StudySpec, out: str | Path | None) -> Path:
    """The directory a study of ``spec`` launches into: ``out``, else ``runs/study-<name>``."""
    return Path(out) if out is not None else Path("runs") / f"study-{spec.name}"


def launch_summary(spec_path: str | Path | None = None, options: LaunchOptions | None = None,
                 spec: StudySpec | None = None) -> dict[str, Any]:
    """Run every arm of a study on Ray Tune and return its summary (see :func:`study_status`).

    SIGINT/SIGTERM stop it cleanly: :class:`~paretoul.errors.StudyInterrupted` (a
    ``KeyboardInterrupt``) says how many trials finished; :func:`resume_summary` continues it.
    The notebook API's :func:`paretoul.launch_study` calls this and returns a ``Study``."""
    opts = options or LaunchOptions()
    spec = spec or load_spec(spec_path)  # type: ignore[arg-type]
    check_data_root(spec)  # a missing data folder is refused before Ray starts
    study_dir = study_dir_of(spec, opts.out)
    if (study_dir / SPEC_FILE).exists():
        raise UserError("out", f"{study_dir} already holds a study; launch_study(..., "
                        "load_if_exists=True) opens it (resuming it if unfinished), or give "
                        "another out", cli=f"{study_dir} already holds a study; `paretoul study "
                        f"resume {study_dir}` continues it, or give another --out")
    created = not study_dir.exists()
    study_dir.mkdir(parents=True, exist_ok=True)
    storage_url = opts.storage or spec.storage or store.default_storage_url(study_dir)
    try:
        store.close(store.open_storage(storage_url))  # fail early on a bad or unreachable database
    except UserError:
        if created:
            shutil.rmtree(study_dir, ignore_errors=True)
        raise
    saved = spec.model_dump(mode="json")
    if spec.storage and store.mask_url(spec.storage) != spec.storage:
        saved["storage"] = None  # a password is never written; resume takes --storage instead
    (study_dir / SPEC_FILE).write_text(yaml.safe_dump(saved, sort_keys=False))
    meta = {"name": spec.name, "storage": store.mask_url(storage_url), "created": time.time(),
            "versions": library_versions(), "machine": machine_facts(), "runs": []}
    if storage_url != store.default_storage_url(study_dir):
        if store.mask_url(storage_url) != storage_url:
            meta["storage_env"] = "PARETOUL_STORAGE"  # a URL with a password is never written
        else:
            meta["storage_url"] = storage_url
    write_meta(study_dir, meta)
    try:
        return Launch(spec, study_dir, storage_url, opts).run()
    except UserError:
        # Refused before any trial ran (e.g. no GPU in the cluster): leave nothing behind.
        if not read_meta(study_dir).get("runs"):
            if created:
                shutil.rmtree(study_dir, ignore_errors=True)
            else:
                for name in (SPEC_FILE, META_FILE, "study.db", "study.db-wal", "study.db-shm",
                             "study.db.lock"):
                    (study_dir / name).unlink(missing_ok=True)
        raise


def resume_summary(study_dir: str | Path, options: LaunchOptions | None = None) -> dict[str, Any]:
    """Continue an interrupted study: interrupted trials are run again, finished ones never, and
    the searchers go on where they stopped. A complete study returns at once (no Ray), its
    summary marked ``already_complete``."""
    opts = options or LaunchOptions()
    d = Path(study_dir)
    spec = load_study_spec(d)
    storage_url = storage_url_of(d, spec, opts.storage)
    return Launch(spec, d, storage_url, opts, resume=True).run()


@dataclass
class Launch:
    """One launch (or resume) of a study: what it runs, where it records, and how.

    :meth:`run` runs what the study lacks: the shared artefacts are prepared while Ray starts,
    then every arm's searcher serves trials to Ray Tune until the budgets are claimed. A study
    already complete returns at once (no Ray, nothing written, ``already_complete`` true);
    SIGINT/SIGTERM raise :class:`StudyInterrupted` with the study's trial counts."""

    spec: StudySpec
    study_dir: Path
    storage_url: str
    opts: LaunchOptions = field(default_factory=LaunchOptions)
    resume: bool = False

    def run(self) -> dict[str, Any]:
        done = self._summary_if_complete()
        if done is not None:
            return {**done, "already_complete": True}
        try:
            with Interrupt(self.opts.quiet) as interrupt:
                return self._on_ray(interrupt)
        except StudyInterrupted as e:
            raise self._counted(e) from None

    def _summary_if_complete(self) -> dict[str, Any] | None:
        """The study's status if the database says every arm is done, else None."""
        url = self.storage_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            return None  # nothing recorded yet
        summary = study_status(self.study_dir, storage_url=url, spec=self.spec)
        return summary if summary["complete"] else None

    def _counted(self, e: StudyInterrupted) -> StudyInterrupted:
        """``e`` with the study's finished and total trial counts (from the database)."""
        try:
            arms = study_status(self.study_dir, storage_url=self.storage_url, spec=self.spec)["arms"]
            finished = sum(a["finished"] + a["failed"] for a in arms)
            total = sum(a["budget"] for a in arms)
        except Exception:  # the counts are a courtesy: the database may be the reason we stopped
            finished = total = None
        return StudyInterrupted(e.signum, str(self.study_dir), finished, total)

    def _slots(self, concurrency: int | None = None) -> float:
        return cluster.slots(self.spec.resources.cpus, self.spec.resources.gpus, concurrency)

    def _on_ray(self, interrupt: Interrupt) -> dict[str, Any]:
        spec, opts = self.spec, self.opts
        t_start = time.perf_counter()
        started = False
        reaper: subprocess.Popen | None = None
        try:
            # Ray's start-up mostly waits on its processes: train/load the shared artefacts meanwhile.
            with ThreadPoolExecutor(1) as pool:
                prepared = pool.submit(prepare_shared, spec.setting, spec.seeds, cpus=spec.resources.cpus,
                                       timeout_s=spec.trial_timeout_s, cache_dir=opts.cache_dir,
                                       quiet=opts.quiet)
                try:
                    started = cluster.init_ray_for(opts.address, spec.resources.cpus, spec.resources.gpus)
                    interrupt.arm()
                    reaper = cluster.start_reaper() if started else None
                finally:
                    shared, baselines = prepared.result()
            # Never more trials in flight than slots: a searcher asked too far ahead samples blind.
            concurrency = int(opts.max_concurrent or spec.max_concurrent or max(1, self._slots()))
            storage = store.open_storage(self.storage_url)
            try:
                return self._tune(storage, shared, baselines, t_start, concurrency, interrupt)
            finally:
                store.close(storage)
        except OSError as e:
            stopped = _stopped_by(e, self.study_dir)
            if stopped is None:
                raise
            raise stopped from None
        finally:
            cluster.shutdown(started, reaper)

    def _retrying(self, fn: Callable[[], T], what: str) -> T:
        return store.retrying(fn, self.storage_url, self.spec.storage_retry_s, what)

    def _tune(self, storage: Any, shared: SharedSetting, baselines: dict[str, Any], t_start: float,
              concurrency: int, interrupt: Interrupt) -> dict[str, Any]:
        spec, opts, study_dir = self.spec, self.opts, self.study_dir

        def open_arms() -> list[Any]:
            with leases.claim_lock(storage, spec.name):  # another launcher may be creating them
                return [make_arm(spec, i, storage, r) for i, r, _ in spec.units()]

        arms = self._retrying(open_arms, "opening the arms")
        searcher = StudySearcher(arms, storage, spec.name, self.storage_url, spec.storage_retry_s)
        # Trials whose launcher is gone (killed, or lost its database) are run again; those of a
        # launcher still working on this study (another host, another shell) are left to it.
        interrupted = self._retrying(searcher.reap, "reaping")
        meta = read_meta(study_dir)
        meta[BASELINES] = baselines
        meta.pop("reference", None)  # an older study's name for them
        initial = self._retrying(lambda: {a.name: arm_counts(a.study.get_trials(deepcopy=False), a.top_rung)
                                          for a in arms}, "counting trials")
        progress = Progress(searcher, {a.name: a.budget for a in arms},
                            dict(zip([o.metric for o in spec.objectives], spec.directions(), strict=True)),
                            quiet=opts.quiet, initial=initial)
        if not opts.quiet and interrupted:
            print(f"{'resume' if self.resume else 'launch'}: {interrupted} interrupted trial(s) will be "
                  "run again")
        callbacks: list[Any] = [progress]
        if spec.trial_timeout_s is not None:
            callbacks.append(HardStop(searcher, spec.trial_timeout_s, spec.trial_grace_s))
        run_name = f"run-{len(meta.get('runs', [])) + 1}-{leases.launcher_id().split(':')[1]}"
        resources: dict[str, float] = {"cpu": spec.resources.cpus}
        if spec.resources.gpus:
            resources["gpu"] = spec.resources.gpus
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(trainable, shared=shared), resources),
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1,
                                        max_concurrent_trials=concurrency, reuse_actors=True),
            run_config=tune.RunConfig(
                name=run_name, storage_path=str((study_dir / "ray").resolve()),
                failure_config=tune.FailureConfig(max_failures=spec.max_failures),
                verbose=0, callbacks=callbacks, log_to_file=False, stop=StopWhenLost(searcher),
            ),
        )
        t_trials = time.perf_counter()
        with leases.Heartbeat([a.study for a in arms]):
            # unfinished: budget left, or trials other launchers hold (rerun here if they die)
            if self._retrying(lambda: any(a.unfinished() for a in arms), "counting trials"):
                if interrupt.signum is not None:  # a signal while the trials were being set up
                    raise StudyInterrupted(interrupt.signum)
                interrupt.searcher = searcher
                try:
                    _fit(tuner, searcher, study_dir)
                finally:
                    interrupt.searcher = None
            searcher.flush()
        end = time.perf_counter()
        meta.setdefault("runs", []).append({
            "name": run_name, "resumed": self.resume, "interrupted_rerun": interrupted,
            "wall_s": end - t_start, "trials_phase_s": end - t_trials, "trials": progress.done,
            "trial_compute_s": progress.compute_s, "slots": self._slots(concurrency),
            "machine": machine_facts(),  # the launcher's; each trial records its node's kernels
            **({"stopped_by_signal": searcher.interrupted} if searcher.interrupted else {}),
        })
        write_meta(study_dir, meta)
        if searcher.interrupted is not None:  # no report: the study is not complete
            raise StudyInterrupted(searcher.interrupted)
        summary = study_status(study_dir, storage_url=self.storage_url)
        summary["wall_s"] = end - t_start
        return summary  # the report is the API layer's (paretoul.api), not the runner's


def _fit(tuner: Any, searcher: Any, study_dir: Path) -> None:
    """``tuner.fit()``; a lost database or a full disk surfaces as one :class:`StudyStopped` line."""
    try:
        tuner.fit()
    except Exception as e:
        stopped = _stopped_by(e, study_dir)
        if stopped is None:
            raise
        raise stopped from None
    if searcher.lost is not None:
        raise _stopped_by(searcher.lost, study_dir) from None


def _stopped_by(e: BaseException, study_dir: Path) -> StudyStopped | None:
    """The fault behind ``e`` (anywhere in its cause chain) if it is the database or the disk."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, store.StorageLost | OSError):
            if isinstance(seen, OSError) and seen.errno != errno.ENOSPC:
                return None
            what = (str(seen) if isinstance(seen, store.StorageLost) else
                    f"the disk is full (writing {seen.filename or study_dir})")
            return StudyStopped(f"{what}; finished trials are safe in the database — free space or "
                                f"restore the database, then run `paretoul study resume {study_dir}`")
        seen = seen.__cause__ or seen.__context__
    return None
