"""The suite's shared study: one small digits study, launched once per run through the Python
API on a real local Ray, which every test that only reads a study reads.

It holds an arm of every searcher kind (SMALL's), a diverging arm (a method-level NaN), a
plugin method that raises in the worker (Ray Tune's error path), three automatically paired
JD-vs-fixed comparisons (one with two search replicates, one paired by w), NegGrad+ with its
gradient-conflict probe, an arm that halves its configurations over the seeds (``fidelity``),
on seeds 0 and 1. A test
that writes into a study directory (validate, audit) works on :func:`copy_of` it.

To add an end-to-end check, take the ``shared_study`` fixture and read it; add an arm here
only if no arm shows what the check needs (every arm costs every reading test nothing, but
the launch a few seconds).

On the same local Ray, after the launch, the README's notebook cell runs twice as written
(from a fresh directory; the second run opens the finished study): ``Shared.notebook`` holds
what each run printed (``tests/test_docs.py`` checks them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.study.conftest import SMALL

NAME = SMALL["name"]
REPO = Path(__file__).resolve().parents[1]
PLUGIN = "tests.plugins.paretoul_test_plugin"

# the scalarized twin of SMALL's raul arm (same lr space, same epochs): paired automatically
MATCH = {"name": "sc-match", "method": "scalarized", "searcher": {"type": "random", "seed": 0},
         "budget": 2, "fixed": {"epochs": 1}, "search": ["w", "lr"]}
# a matched pair with two search runs each (replicates): paired automatically too
REPLICATED = [
    {"name": "jd", "method": "raul", "searcher": {"type": "random", "seed": 3}, "budget": 3,
     "replicates": 2, "fixed": {"epochs": 1, "aggregator": "upgrad"}, "search": ["lr"]},
    {"name": "fw", "method": "scalarized", "searcher": {"type": "random", "seed": 3}, "budget": 3,
     "replicates": 2, "fixed": {"epochs": 1}, "search": ["w", "lr"]},
]
# Jacobian descent and fixed weights on the same w grid (lr 0.02, so neither pairs with another
# arm): paired by w automatically
PAIRED = [
    {"name": "jd-w", "method": "raul", "searcher": {"type": "grid"}, "grid": {"w": [0.2, 0.5, 0.8]},
     "fixed": {"epochs": 1, "lr": 0.02, "aggregator": "upgrad"}},
    {"name": "fw-w", "method": "scalarized", "searcher": {"type": "grid"},
     "grid": {"w": [0.2, 0.5, 0.8]}, "fixed": {"epochs": 1, "lr": 0.02}},
]
# NegGrad+ with its opt-in gradient-conflict probe
PROBED = {"name": "ng-probe", "method": "neggrad_plus", "searcher": {"type": "grid"},
          "grid": {"alpha": [0.9]}, "fixed": {"epochs": 1, "probe_every": 1}}
# successive halving over the seeds: 3 configurations on seed 0, the best third (1) on seed 1
HALVING = {"name": "ga-halving", "method": "ga", "searcher": {"type": "random", "seed": 2}, "budget": 3,
           "fixed": {"epochs": 1}, "fidelity": {"seeds": [1, 2], "eta": 3}}
# a method registered from outside the package (tests/plugins) that raises in the worker
CRASH = {"name": "crash", "method": "crash", "searcher": {"type": "grid"}, "grid": {"epochs": [1]}}

SPEC: dict[str, Any] = {**SMALL, "seeds": [0, 1],
                        "arms": [*SMALL["arms"], MATCH, *REPLICATED, *PAIRED, PROBED, HALVING, CRASH]}
BUDGETS = {"raul-nsga2": 4, "sc-grid": 3, "ft-pymoo": 4, "ga-random": 2, "ga-diverges": 2,
           "sc-match": 2, "jd": 3, "fw": 3, "jd-w": 3, "fw-w": 3, "ng-probe": 1, "ga-halving": 3, "crash": 1}
"""Configurations per arm and search run (jd and fw run twice: replicates 2)."""
CONFIGS = sum(BUDGETS.values()) + BUDGETS["jd"] + BUDGETS["fw"]
PROMOTED = {"ga-halving": 1}
"""Runs on more seeds: of ga-halving's 3 configurations, floor(3 / eta) = 1 goes on to seed 1."""
TRIALS = CONFIGS + sum(PROMOTED.values())
"""Tune trials: every configuration's first run and every promotion."""
FAILED = {"ga-diverges": 2, "crash": 1}


@dataclass(frozen=True)
class Shared:
    out: Path
    """The study directory (read it; never write into it)."""
    cache: Path
    """The checkpoint cache it was launched with (the run's)."""
    study: Any
    """The :class:`paretoul.Study` the launch returned (its ``summary`` is the launch's)."""
    spec_before: dict[str, Any]
    """A deep copy of :data:`SPEC` taken before the launch, which was given :data:`SPEC` itself."""
    notebook: tuple[str, str]
    """What the README's notebook cell printed, its first run and its second."""
    notebook_dir: Path
    """The directory the cell ran in (its ``runs/nb`` study and exported model)."""

    @property
    def summary(self) -> dict[str, Any]:
        return self.study.summary


@contextlib.contextmanager
def plugin_environment():
    """``PARETOUL_PLUGINS`` and ``PYTHONPATH`` as a user sets them for a plugin of their own: the
    launcher and the workers of the local Ray it starts (which inherit its environment) import
    the test plugin."""
    before = {k: os.environ.get(k) for k in ("PARETOUL_PLUGINS", "PYTHONPATH")}
    os.environ["PARETOUL_PLUGINS"] = PLUGIN
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), before["PYTHONPATH"]) if p)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def one_ray():
    """A local Ray for the launches inside (each finds it running and leaves it so)."""
    import ray

    from paretoul.execution import cluster

    started = cluster.init_ray_for(None, 1.0)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _notebook_cell(where: Path, cache: Path) -> str:
    """Run the README's notebook cell as written, in ``where``; returns what it printed."""
    import contextlib as cl
    import io

    from tests.docs_blocks import block

    where.mkdir(parents=True, exist_ok=True)
    before, cache_before = Path.cwd(), os.environ.get("PARETOUL_CACHE")
    os.chdir(where)
    os.environ["PARETOUL_CACHE"] = str(cache)
    out = io.StringIO()
    try:
        with cl.redirect_stdout(out):
            exec(compile(block("README.md", "import paretoul").text, "README.md", "exec"), {})
    finally:
        os.chdir(before)
        if cache_before is None:
            os.environ.pop("PARETOUL_CACHE", None)
        else:
            os.environ["PARETOUL_CACHE"] = cache_before
    return out.getvalue()


def launch(tmp: Path, cache: Path) -> Shared:
    import copy

    import paretoul

    before = copy.deepcopy(SPEC)
    with plugin_environment(), one_ray():
        study = paretoul.launch_study(SPEC, tmp / "out", cache_dir=cache, quiet=True)
        notebook = (_notebook_cell(tmp / "nb", cache), _notebook_cell(tmp / "nb", cache))
    return Shared(tmp / "out", cache, study, before, notebook, tmp / "nb")


def copy_of(shared: Shared, dest: Path) -> Path:
    """A copy of the shared study's directory (its database with it) for a test that writes."""
    shutil.copytree(shared.out, dest, ignore=shutil.ignore_patterns("ray"))
    return dest
