"""Starting (or joining) Ray for a study: loopback binding, resource checks, one-line logs,
and the watcher that stops a local Ray whose launcher was killed."""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from paretoul.errors import UserError
from paretoul.execution._reaper import ray_pids

log = logging.getLogger("paretoul")


def init_ray_for(address: str | None, cpus: float, gpus: float = 0.0) -> bool:
    """Connect to (or start) Ray and check it has ``cpus`` and ``gpus`` for one task; True if
    started here."""
    import ray

    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no result tables
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    logging.getLogger("ray.tune.search.optuna.optuna_search").setLevel(logging.ERROR)
    if ray.is_initialized():
        _check_resources(cpus, gpus)
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "configure_logging": True, "logging_level": logging.ERROR}
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            _bind_loopback()
            ray.init(num_cpus=os.cpu_count() or 1, object_store_memory=_object_store_bytes(), **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError("address", f"cannot connect to Ray at {address or 'a new local cluster'}: "
                        f"{first}") from None
    _one_line_ray_logs()
    try:
        _check_resources(cpus, gpus)
    except UserError:
        ray.shutdown()
        raise
    return True


class _NoTraceback(logging.Filter):
    """Ray's own error logs (e.g. a failed save of Tune's state on a full disk) in one line:
    the study reports the fault itself, and a user should not read Ray's tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            err = record.exc_info[1]
            record.msg = f"{record.getMessage().rstrip(': ')}: {type(err).__name__}: {err}"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def _one_line_ray_logs() -> None:
    for name in ("ray", "ray.tune", "ray.train"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, _NoTraceback) for f in handler.filters):
                handler.addFilter(_NoTraceback())


def _check_resources(cpus: float, gpus: float) -> None:
    """A trial asking for more than the cluster has would wait forever: refuse up front."""
    import ray

    have_gpus = ray.cluster_resources().get("GPU", 0.0)
    if gpus > 0 and have_gpus < gpus:
        raise UserError("resources.gpus", f"{gpus:g} GPU per trial requested but the "
                        f"cluster has {have_gpus:g} GPUs; set resources.gpus: 0 or add GPU nodes")
    cpus_avail = ray.cluster_resources().get("CPU", 0.0)
    if cpus > cpus_avail:
        raise UserError("resources.cpus", f"{cpus:g} CPUs per trial requested but the "
                        f"cluster has {cpus_avail:g}")


def _bind_loopback() -> None:
    """A local study needs no network: keep the Ray it starts on 127.0.0.1.

    Ray binds a single-node cluster to loopback when ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``
    (tests/README.md#dependency-facts-the-code-relies-on); Ray reads that once at import, so
    the flag is set here too.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False
    except (ImportError, AttributeError):  # a Ray without the flag binds as it always does
        pass


def _object_store_bytes() -> int:
    """A small object store: the artefacts of a study are tens of MB, and hosts may be small."""
    return 256 * 2**20


def start_reaper() -> subprocess.Popen | None:
    """A watcher that kills the local Ray this launcher started if the launcher dies
    (see :mod:`paretoul.execution._reaper`)."""
    pids = ray_pids()
    if not pids:
        log.warning("ray: cannot list the processes of the local Ray; if this launcher is killed, "
                    "stop them with `ray stop`")
        return None
    # Run as a plain script (stdlib only): ``-m paretoul...`` would import torch for nothing.
    script = Path(__file__).with_name("_reaper.py")
    return subprocess.Popen([sys.executable, "-I", str(script), *map(str, pids)],
                            stdin=subprocess.PIPE, start_new_session=True)


def shutdown(started: bool, reaper: subprocess.Popen | None) -> None:
    """Stop the Ray this process started (``started``; a joined cluster is left running) and
    its watcher."""
    if started:
        import ray

        ray.shutdown()
    if reaper is not None:
        reaper.stdin.close()  # type: ignore[union-attr]
        reaper.wait(timeout=30)


def slots(cpus: float, gpus: float = 0.0, concurrency: int | None = None) -> float:
    """How many tasks of ``cpus`` CPUs and ``gpus`` GPUs the cluster runs at once (at most
    ``concurrency``)."""
    import ray

    slots = ray.cluster_resources().get("CPU", 1.0) / cpus if cpus else math.inf
    if gpus:
        slots = min(slots, ray.cluster_resources().get("GPU", 0.0) / gpus)
    return float(min(slots, concurrency) if concurrency else slots)
