"""The names of a study's search runs: an arm's own name for its first replicate, ``ARM@rK``
for the others."""

from __future__ import annotations

REPLICATE_MARK = "@r"


def unit_name(arm: str, replicate: int, replicates: int = 2) -> str:
    """The name of one search run of an arm: the arm's own name for its first (or only)
    replicate, ``ARM@rK`` for replicate K >= 1 (its Optuna study and trial keys use it)."""
    return arm if replicate == 0 else f"{arm}{REPLICATE_MARK}{replicate}"

