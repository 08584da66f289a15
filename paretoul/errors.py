"""Errors a user can cause, and how they reach the command line.

A :class:`UserError` is a mistake in the input (an unknown name, a value out of
range, a missing file). The CLI prints it as one line and exits with code 2;
Python callers get an exception whose ``field`` names what was wrong.
"""

from __future__ import annotations

from paretoul.redact import mask_secrets


class UserError(ValueError):
    """Bad input from the user: reported in one line naming the field, exit code 2."""

    def __init__(self, field: str, message: str) -> None:
        message = mask_secrets(message)  # a database URL in it never shows its password
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnlearningDiverged(RuntimeError):
    """A method's loss became NaN or infinite; the run stops instead of returning garbage."""


class StudyStopped(RuntimeError):
    """A fault outside the input (the database gone, the disk full) stopped a study.

    Finished trials are safe in the database; ``paretoul study resume`` completes the study.
    The CLI prints one line and exits with code 1.
    """


def choice_error(field: str, value: object, allowed: list[str] | tuple[str, ...]) -> UserError:
    """A :class:`UserError` for a name that is not one of ``allowed``."""
    return UserError(field, f"unknown value {value!r}; allowed: {', '.join(sorted(allowed))}")


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
