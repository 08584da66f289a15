"""Fronts, hypervolume, epsilon and dominance on point sets with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from paretoul.geometry.fronts import non_dominated
from paretoul.geometry.indicators import additive_epsilon, dominated_share, hypervolume


def test_non_dominated_on_a_hand_made_set() -> None:
    F = np.array([[1, 5], [2, 3], [3, 4], [4, 1], [5, 5], [2, 3]])
    assert non_dominated(F).tolist() == [0, 1, 3, 5]  # (3,4) and (5,5) are dominated
    # maximising the second objective changes the answer
    assert non_dominated(F, ["min", "max"]).tolist() == [0]  # (1, 5) beats (5, 5) on f1


def test_hypervolume_hand_made() -> None:
    G = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    # staircase under reference (4, 4): 3*1 + 2*1 + 1*1 = 6
    assert hypervolume(G, np.array([4.0, 4.0])) == pytest.approx(6.0)
    assert hypervolume(G, np.array([2.5, 4.0])) == pytest.approx(1.5 * 1 + 0.5 * 1)
    assert hypervolume(np.array([[5.0, 5.0]]), np.array([4.0, 4.0])) == 0.0


@pytest.mark.parametrize("n, tol", [(50, 0.02), (400, 0.003)])
def test_hypervolume_of_sampled_zdt1_front(n: int, tol: float) -> None:
    f1 = np.linspace(0, 1, n)
    G = np.column_stack([f1, 1 - np.sqrt(f1)])
    hv = hypervolume(G, np.array([1.0, 1.0]))
    assert hv == pytest.approx(2 / 3, abs=tol)
    assert hv < 2 / 3  # a finite sample never exceeds the true front's HV


def test_additive_epsilon() -> None:
    A = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert additive_epsilon(A, A) == 0.0
    B = A + 0.25
    assert additive_epsilon(A, B) == pytest.approx(-0.25)  # A dominates B with margin 0.25
    assert additive_epsilon(B, A) == pytest.approx(0.25)
    C = np.array([[0.5, 0.5]])
    assert additive_epsilon(A, C) == pytest.approx(0.5)
    assert additive_epsilon(C, A) == pytest.approx(0.5)


def test_dominated_share() -> None:
    A = np.array([[0.0, 1.0], [1.0, 0.0]])
    B = np.array([[0.5, 1.5], [2.0, 2.0], [0.0, 1.0], [-1.0, 5.0]])
    assert dominated_share(A, B) == (2, 4)  # equal point and the non-comparable one are not
