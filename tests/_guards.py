"""The suite's speed guards, as pytest hooks (registered by ``tests/conftest.py``).

- A test's own time (its call plus the set-up of its function-scoped fixtures) over
  :data:`LIMIT_S` fails the test unless it is marked ``slow``.
- A fixture of a wider scope (module, session) is timed apart, since the tests that share it
  do not each pay for it; one over :data:`LIMIT_S` fails the test whose set-up built it unless
  the fixture is declared with :func:`slow_fixture`.

``--durations=25`` (``pyproject.toml``) prints the slowest phases of every run, and
pytest-timeout stops a test that hangs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

LIMIT_S = float(os.environ.get("PARETOUL_TEST_LIMIT_S", "60"))
"""Seconds a test or a wide fixture may take unmarked (``$PARETOUL_TEST_LIMIT_S`` exists for the
guard's own test, :mod:`tests.test_guards`)."""
F = TypeVar("F", bound=Callable[..., Any])
_SLOW_FIXTURES: set[str] = set()
_FIXTURE_S = pytest.StashKey[dict[str, tuple[str, float]]]()


def slow_fixture(fn: F) -> F:
    """Declare a module- or session-scoped fixture allowed to take more than :data:`LIMIT_S`
    (put it under ``@pytest.fixture``)."""
    _SLOW_FIXTURES.add(fn.__name__)
    return fn


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
    t0 = time.perf_counter()
    yield
    took = time.perf_counter() - t0
    node = getattr(request, "_pyfuncitem", None) or request.node
    node.stash.setdefault(_FIXTURE_S, {})[fixturedef.argname] = (fixturedef.scope, took)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.passed:
        return
    fixtures = item.stash.get(_FIXTURE_S, {})
    wide = {name: s for name, (scope, s) in fixtures.items() if scope != "function"}
    own = call.duration + sum(s for scope, s in fixtures.values() if scope == "function")
    problems = []
    if own > LIMIT_S and item.get_closest_marker("slow") is None:
        problems.append(f"took {own:.1f} s (its call and function-scoped fixtures), over the "
                        f"{LIMIT_S:g} s limit of a test not marked slow")
    problems += [f"its fixture {name!r} took {s:.1f} s to set up, over the {LIMIT_S:g} s limit "
                 "of a fixture not declared with tests._guards.slow_fixture"
                 for name, s in wide.items() if s > LIMIT_S and name not in _SLOW_FIXTURES]
    if problems:
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: " + "; ".join(problems)
