"""What became of a trial, read from its Optuna record: the one meaning every reader (budgets,
status counts, the study's records) shares."""

from __future__ import annotations

from enum import StrEnum

import optuna

INTERRUPTED = "interrupted"
"""User attribute of a trial whose launcher stopped before it finished: run again, no budget used."""
RETIRED = "retired"
"""User attribute (the reason) of a trial a searcher withdrew before running it — a proposal
that repeated a parameter set already claimed: it uses no budget and is never run."""


class Outcome(StrEnum):
    COMPLETE = "complete"
    """Finished with every objective finite."""
    FAILED = "failed"
    """Failed for a reason of its own (an error, a NaN objective, a timeout): uses budget."""
    RUNNING = "running"
    """Claimed and not finished (running, or enqueued and not yet asked): uses budget."""
    INTERRUPTED = "interrupted"
    """Its launcher stopped before it finished: uses no budget and is run again."""
    RETIRED = "retired"
    """Withdrawn unrun (a repeated proposal): uses no budget, never run, not a trial of the study."""

    @property
    def counted(self) -> bool:
        """Whether a trial with this outcome uses up budget."""
        return self in (Outcome.COMPLETE, Outcome.FAILED, Outcome.RUNNING)


def outcome_of(t: optuna.trial.FrozenTrial) -> Outcome:
    """The outcome of trial ``t``."""
    S = optuna.trial.TrialState
    if t.user_attrs.get(RETIRED):
        return Outcome.RETIRED
    if t.state == S.COMPLETE:
        return Outcome.COMPLETE
    if t.state in (S.RUNNING, S.WAITING):
        return Outcome.RUNNING
    return Outcome.INTERRUPTED if t.user_attrs.get(INTERRUPTED) else Outcome.FAILED
