"""The speed guards themselves (:mod:`tests._guards`), on a small suite run by pytester with
a limit of 0.3 s: an unmarked test or an undeclared wide fixture over it fails; marked and
declared ones pass; a test that fails for its own reason keeps its own failure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parents[1]

SUITE = '''
import time
import pytest
from tests._guards import slow_fixture

@pytest.fixture(scope="module")
def wide():
    time.sleep(0.5)

@pytest.fixture(scope="module")
@slow_fixture
def declared():
    time.sleep(0.5)

@pytest.fixture
def narrow():
    time.sleep(0.5)

def test_quick():
    pass

def test_slow_unmarked():
    time.sleep(0.5)

@pytest.mark.slow
def test_slow_marked():
    time.sleep(0.5)

def test_slow_function_fixture(narrow):
    pass

def test_undeclared_wide_fixture(wide):
    pass

def test_declared_wide_fixture(declared):
    pass

def test_fails_on_its_own():
    time.sleep(0.5)
    assert False, "its own failure"
'''


def test_the_guard_fails_what_is_slow_and_unmarked(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from tests._guards import pytest_fixture_setup, pytest_runtest_makereport\n")
    pytester.makeini("[pytest]\nmarkers =\n    slow: may be slow\n")
    pytester.makepyfile(test_suite=SUITE)
    env = {"PARETOUL_TEST_LIMIT_S": "0.3", "PYTHONPATH": str(REPO)}
    with pytest.MonkeyPatch.context() as mp:  # for the subprocess only
        for k, v in env.items():
            mp.setenv(k, v)
        result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", "-p", "no:xdist")
    outcomes = {test: outcome for outcome, test in
                re.findall(r"^(PASSED|FAILED) test_suite\.py::(\w+)", result.stdout.str(), re.M)}
    assert outcomes == {"test_quick": "PASSED", "test_slow_unmarked": "FAILED",
                        "test_slow_marked": "PASSED", "test_slow_function_fixture": "FAILED",
                        "test_undeclared_wide_fixture": "FAILED", "test_declared_wide_fixture": "PASSED",
                        "test_fails_on_its_own": "FAILED"}, result.stdout.str()
    text = result.stdout.str()
    assert re.search(r"test_slow_unmarked: took \d+\.\d s \(its call and function-scoped fixtures\), "
                     r"over the 0\.3 s limit of a test not marked slow", text)
    assert re.search(r"test_slow_function_fixture: took \d+\.\d s", text)
    assert re.search(r"its fixture 'wide' took \d+\.\d s to set up, over the 0\.3 s limit of a fixture "
                     r"not declared", text)
    assert "its own failure" in text
