"""A plugin, as a user writes one: a method registered from outside the package.

``crash`` raises a plain exception inside the trial's worker (not a method-level NaN or a
:class:`~paretoul.errors.UserError`), so a study shows Ray Tune's error path on the MLP in
a fraction of a second. Loaded through ``PARETOUL_PLUGINS=tests.plugins.paretoul_test_plugin``
with the repository on ``PYTHONPATH`` (:mod:`tests.shared_study` sets both for its launch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paretoul.methods import Method, MethodConfig, UnlearnResult, int_param, register_method

MESSAGE = "crash: raised on purpose by a plugin method"  # tests/study/test_trial_errors.py


@dataclass(frozen=True)
class CrashConfig(MethodConfig):
    epochs: int = 1


@register_method
class Crash(Method):
    name = "crash"
    summary = "raises RuntimeError in the trial (a test plugin)"
    Config = CrashConfig
    space = (int_param("epochs", 1, 3, help="unused: the method raises before training"),)

    def unlearn(self, model: Any, ctx: Any, config: Any) -> UnlearnResult:
        raise RuntimeError(f"{MESSAGE} on a {type(model).__name__}")
