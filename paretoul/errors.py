"""Errors a user can cause, and how they reach the command line.

A :class:`UserError` is a mistake in the input (an unknown name, a value out of
range, a missing file). The CLI prints it as one line and exits with code 2;
Python callers get an exception whose ``field`` names what was wrong.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from paretoul.redact import mask_secrets


class UserError(ValueError):
    """Bad input from the user: reported in one line naming the field, exit code 2.

    ``message`` is worded for a Python caller (keyword arguments, functions); ``cli``, where
    the two differ, is the same message worded for the command line (flags, commands)."""

    def __init__(self, field: str, message: str, *, cli: str | None = None) -> None:
        message = mask_secrets(message)  # a database URL in it never shows its password
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.cli = mask_secrets(cli) if cli is not None else None

    def cli_text(self) -> str:
        """The one line the CLI prints after ``paretoul: error:``."""
        return f"{self.field}: {self.cli if self.cli is not None else self.message}"


class UnlearningDiverged(RuntimeError):
    """A method's loss became NaN or infinite; the run stops instead of returning garbage."""


class StudyStopped(RuntimeError):
    """A fault outside the input (the database gone, the disk full) stopped a study.

    Finished trials are safe in the database; ``paretoul study resume`` completes the study.
    The CLI prints one line and exits with code 1.
    """


_COMMON_NAMES = {"learning_rate": "lr", "learningrate": "lr", "step_size": "lr",
                 "n_epochs": "epochs", "num_epochs": "epochs", "epoch": "epochs",
                 "batchsize": "batch_size", "bs": "batch_size", "wd": "weight_decay",
                 "n_trials": "budget", "trials": "budget", "seed_list": "seeds",
                 "minimize": "min", "maximize": "max", "minimise": "min", "maximise": "max"}
"""Other libraries' names for a knob paretoul calls otherwise (``learning_rate`` -> ``lr``)."""


def did_you_mean(value: object, allowed: Iterable[str],
                 described: Mapping[str, str] | None = None) -> str:
    """``"; did you mean 'lr'?"`` for a misspelt name, or ``""`` when none is close: by spelling
    (difflib), by another library's name for it, or by the words of a knob's help text
    (``learning_rate`` -> the knob described as "SGD learning rate")."""
    names = [str(a) for a in allowed]
    text = str(value)
    close = difflib.get_close_matches(text, names, n=1, cutoff=0.6)
    if not close and _COMMON_NAMES.get(text.lower()) in names:
        close = [_COMMON_NAMES[text.lower()]]
    if not close and described:
        words = text.replace("_", " ").replace("-", " ").strip().lower()
        close = [k for k, d in described.items() if words and d and words in d.lower()][:1]
    return f"; did you mean {close[0]!r}?" if close else ""


def choice_error(field: str, value: object, allowed: list[str] | tuple[str, ...]) -> UserError:
    """A :class:`UserError` for a name that is not one of ``allowed``."""
    return UserError(field, f"unknown value {value!r}{did_you_mean(value, allowed)}; allowed: "
                     f"{', '.join(sorted(allowed))}")


class ReportFailed(RuntimeError):
    """A study ran to completion but its report could not be written. The results are safe in
    the database; ``study`` (the completed :class:`~paretoul.Study`) and ``study.report()``
    (or ``paretoul report DIR``) retry. The CLI prints one line and exits with code 1."""

    def __init__(self, study: Any, cause: BaseException) -> None:
        super().__init__(f"report: {study.directory} completed, but its report could not be "
                         f"written ({type(cause).__name__}: {cause})")
        self.study = study


class StudyInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a study before it was complete.

    The trials in flight were stopped and are run again by ``paretoul study resume``; finished
    ones are safe in the database. The CLI prints one line and exits with 128 + the signal
    number (130 for SIGINT, 143 for SIGTERM). A ``KeyboardInterrupt``, so that no
    ``except Exception`` on the way swallows it.
    """

    def __init__(self, signum: int, study_dir: str = "", finished: int | None = None,
                 total: int | None = None) -> None:
        super().__init__(signum)
        self.signum, self.study_dir, self.finished, self.total = signum, study_dir, finished, total

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        counts = f"; {self.finished} of {self.total} trials finished" if self.finished is not None else ""
        return f"interrupted{counts}; `paretoul study resume {self.study_dir}` continues"


class TrialTimeout(RuntimeError):
    """A run passed its time limit (a study's ``trial_timeout_s``) and stopped at a step boundary.

    Raised by :func:`paretoul.training.check_deadline`, which the training loop calls at every
    step and evaluation between metrics: it is raised in paretoul's own code, never injected
    into a library's.
    """
