"""Studies: specs, searchers (Optuna, pymoo, grid, random), Ray Tune execution, the results database."""

from paretoul.study.runner import LaunchOptions, launch_study, resume_study, study_status
from paretoul.study.spec import StudySpec, load_spec, parse_spec

__all__ = ["LaunchOptions", "StudySpec", "launch_study", "load_spec", "parse_spec", "resume_study",
           "study_status"]
