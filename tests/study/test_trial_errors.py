"""A trial whose worker raises (not a method-level NaN) goes through Ray Tune's error path:
recorded as failed with the exception's message, and the study carries on.

The exception comes from ``crash``, a method registered from outside the package (the test
plugin :mod:`tests.plugins.paretoul_test_plugin`, loaded through ``PARETOUL_PLUGINS`` in the
launcher and in Ray's workers), in the shared study."""

from __future__ import annotations

import optuna
import pytest

from tests.shared_study import NAME

# the plugin's message (not imported: importing the plugin would register its method in this
# process, where the method contract suites list every registered method)
MESSAGE = "crash: raised on purpose by a plugin method"

pytestmark = pytest.mark.ray


def test_an_exception_in_a_trial_is_recorded_and_the_study_goes_on(shared_study) -> None:
    by_arm = {a["arm"]: a for a in shared_study.summary["arms"]}
    assert by_arm["crash"]["failed"] == 1 and by_arm["crash"]["finished"] == 0
    assert shared_study.summary["complete"]  # the other arms ran their budgets after it
    assert by_arm["sc-grid"]["finished"] == 3 and by_arm["ft-pymoo"]["finished"] == 4
    study = optuna.load_study(study_name=f"{NAME}:crash",
                              storage=f"sqlite:///{shared_study.out / 'study.db'}")
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert f"RuntimeError: {MESSAGE} on a Sequential" in trial.user_attrs["error"]
