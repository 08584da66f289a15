"""The one task fan-out (validation and the audit): each call gets the shared object last, its
outcome comes back with its index; in this process (``local``) the calls run in order and what
they raise reaches the caller. (On Ray it runs in the validation and audit tests.)"""

from __future__ import annotations

import pytest

from paretoul.errors import UserError
from paretoul.execution.fanout import TaskPool, first_line


def _task(a: int, b: int, shared: dict) -> int:
    if a < 0:
        raise UserError("a", "negative")
    return a * b + shared["offset"]


def test_local_calls_run_in_order_with_the_shared_object_last() -> None:
    with TaskPool(None, 1.0, local=True) as pool:
        assert pool.slots() == 1
        out = list(pool.map(_task, [(1, 2), (3, 4)], {"offset": 10}))
    assert out == [(0, 12, None), (1, 22, None)]


def test_a_local_call_that_raises_stops_the_fan_out() -> None:
    with TaskPool(None, 1.0, local=True) as pool, pytest.raises(UserError, match="negative"):
        list(pool.map(_task, [(1, 1), (-1, 1)], {"offset": 0}))


def test_first_line_names_the_error_in_one_line() -> None:
    assert first_line(RuntimeError("worker died\n  traceback ...")) == "RuntimeError: worker died"
    assert first_line(RuntimeError()) == "RuntimeError: RuntimeError"
