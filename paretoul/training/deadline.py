"""A cooperative time limit: code that runs long calls :func:`check_deadline` at safe points.

The training loop checks at every step and evaluation between metrics, so a run past its
limit stops at a step boundary, never inside library code. The limit is held in a context
variable: it applies to the thread (or task) that set it, and nothing else.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

from paretoul.errors import TrialTimeout

_DEADLINE: ContextVar[float | None] = ContextVar("paretoul_deadline", default=None)


@contextlib.contextmanager
def time_limit(limit_s: float | None) -> Iterator[None]:
    """Within the block, :func:`check_deadline` raises once ``limit_s`` seconds have passed
    (None: no limit; an enclosing, earlier deadline stays in force)."""
    if limit_s is None:
        yield
        return
    end = time.monotonic() + limit_s
    outer = _DEADLINE.get()
    token = _DEADLINE.set(end if outer is None else min(end, outer))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline() -> None:
    """Raise :class:`~paretoul.errors.TrialTimeout` if the current time limit has passed."""
    end = _DEADLINE.get()
    if end is not None and time.monotonic() > end:
        raise TrialTimeout("past the time limit")
