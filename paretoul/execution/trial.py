"""The Ray Tune trainable: one trial = one method with one parameter set, on every seed.

The driver ships the original and oracle weights of each seed through Ray's
object store (:mod:`paretoul.execution.shipping`).
"""

from __future__ import annotations

import importlib
import os
import socket
import time
from pathlib import Path
from typing import Any

import torch

from paretoul.artefacts import prepare
from paretoul.errors import TrialTimeout, UnlearningDiverged, UserError
from paretoul.execution.results import conflict_figures, conflict_rows, over_seeds
from paretoul.execution.shipping import SharedSetting, artefacts_of, shipped_states
from paretoul.metrics import evaluate
from paretoul.one_run import load_torch_optim, unlearn_and_evaluate_many
from paretoul.setting import Setting
from paretoul.training import check_deadline, time_limit


def prepare_shared(setting: Setting, seeds: list[int], *, cpus: float, timeout_s: float | None,
                   cache_dir: str | Path | None, quiet: bool) -> tuple[SharedSetting, dict[str, Any]]:
    """Build or reuse the original and oracle of each of ``seeds`` (once, on the driver): the
    setting shipped to every worker (each trial on ``cpus`` threads, stopped past ``timeout_s``),
    and per seed the original's and oracle's metrics."""
    arts = prepare(setting, list(seeds), cache_dir=cache_dir)
    shared = SharedSetting(setting, cpus, timeout_s)
    baselines: dict[str, Any] = {}
    for seed, art in zip(seeds, arts, strict=True):
        shared.states[seed] = shipped_states(art)
        baselines[str(seed)] = {
            "original": evaluate(art.original_context),
            "oracle": evaluate(art.oracle_context),
            "splits": {"sizes": art.splits.sizes(), "checksum": art.splits.checksum()},
            "cache": {"original": art.original.cache_status, "oracle": art.oracle.cache_status},
        }
    if not quiet:
        hits = sum(v == "hit" for r in baselines.values() for v in r["cache"].values())
        print(f"original + oracle for {len(seeds)} seed(s): {hits} of {2 * len(seeds)} "
              "from the cache, the rest trained")
    return shared, baselines


def _node() -> str:
    try:
        import ray

        return ray.util.get_node_ip_address()
    except Exception:
        return socket.gethostname()


def run_trial(config: dict[str, Any], shared: SharedSetting) -> dict[str, Any]:
    """Evaluate ``config`` (arm, method, params) on every seed (or on ``config["seeds"]``, a
    subset of the shared seeds); a method error or running past the time limit is a result
    (``error``), not a crash.

    The time limit is cooperative: the training loop checks it at every step and evaluation
    between metrics, so a trial past ``trial_timeout_s`` stops at a step boundary in paretoul's
    own code (its worker stays sound for the next trial). A trial that never gets back to
    Python is ended from the driver (see :mod:`paretoul.execution.hard_stop`).
    """
    torch.set_num_threads(max(1, int(shared.cpus)))
    _load_libraries()
    t0 = time.perf_counter()
    seeds = [s for s in shared.seeds if s in config.get("seeds", shared.seeds)]
    out: dict[str, Any] = {"node": _node(), "pid": os.getpid(), "seeds": seeds,
                           "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
                           "started_at": time.time()}
    try:
        with time_limit(shared.timeout_s):
            check_deadline()
            arts = [art for art in artefacts_of(shared) if art.seed in seeds]
            # the seeds' unlearning as one grouped model where the method allows (bit-identical)
            runs = unlearn_and_evaluate_many(arts, config["method"], config["params"])
    except (UnlearningDiverged, UserError) as e:
        out.update(error=f"{type(e).__name__}: {e}", trial_s=time.perf_counter() - t0)
        return out
    except TrialTimeout:
        elapsed = time.perf_counter() - t0
        out.update(error=f"TrialTimeout: stopped after {elapsed:.1f} s, past trial_timeout_s="
                   f"{shared.timeout_s:g}", trial_s=elapsed)
        return out
    out.update(over_seeds([r.metrics for r in runs]))  # objectives are read from the top level
    out.update(
        params_full=runs[0].params,
        trace=_compact(runs[0].trace),
        **conflict_figures(conflict_rows([r.trace for r in runs])),
        unlearn_s=float(sum(r.unlearn_seconds for r in runs)),
        trial_s=time.perf_counter() - t0,
    )
    return out  # the searcher fails a trial whose objectives are missing or not finite


_TRIAL_LIBRARIES = ("paretoul.training.scratch", "paretoul.metrics.context", "sklearn.metrics",
                    "sklearn.svm")
"""What every trial runs but paretoul imports where it is used (so the CLI starts fast)."""


def _load_libraries() -> None:
    """Import what a trial uses before its time limit starts: a worker's first trial pays for
    rebuilding the data (counted), not for loading libraries (a second or two)."""
    for name in _TRIAL_LIBRARIES:
        importlib.import_module(name)
    load_torch_optim()


def _compact(trace: dict[str, list[float]], limit: int = 400) -> dict[str, list[float]]:
    """The first seed's trace, each series thinned to at most ``limit`` points for the database."""
    out = {}
    for key, values in trace.items():
        step = max(1, -(-len(values) // limit))
        out[key] = [float(v) for v in values[::step]]
    return out


def trainable(config: dict[str, Any], shared: SharedSetting) -> None:
    """The function Ray Tune runs: one report with every metric."""
    from ray import tune

    result = run_trial(config, shared)
    result["tune_trial_id"] = tune.get_context().get_trial_id()
    tune.report(result)
