"""A trial whose worker raises (not a method-level NaN) goes through Ray Tune's error path:
recorded as failed with the exception's message, and the study carries on."""

from __future__ import annotations

import optuna

from paretoul.study import LaunchOptions, launch_study
from tests.study.conftest import small_spec


def test_an_exception_in_a_trial_is_recorded_and_the_study_goes_on(tmp_path) -> None:
    arms = [
        # ResNet-18 on 8x8 digits reaches a 1x1 feature map; BatchNorm then refuses a batch
        # of one sample: a plain ValueError raised inside the Ray worker.
        {"name": "crash", "method": "ft", "searcher": {"type": "grid"},
         "grid": {"batch_size": [1]}, "fixed": {"epochs": 1}},
        {"name": "fine", "method": "ft", "searcher": {"type": "grid"},
         "grid": {"lr": [0.01, 0.02]}, "fixed": {"epochs": 1}},
    ]
    spec = small_spec(tmp_path, name="errors", model="resnet18", recipe={"epochs": 1}, arms=arms)
    summary = launch_study(spec, LaunchOptions(out=tmp_path / "out", cache_dir=tmp_path / "cache",
                                               quiet=True))
    by_arm = {a["arm"]: a for a in summary["arms"]}
    assert by_arm["crash"]["failed"] == 1 and by_arm["fine"]["finished"] == 2
    study = optuna.load_study(study_name="errors:crash", storage=f"sqlite:///{tmp_path / 'out' / 'study.db'}")
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert "Expected more than 1 value per channel" in trial.user_attrs["error"]
