from __future__ import annotations

import numpy as np
import pytest

from paretoul.metrics import membership_auc, mia_efficacy


def test_mia_efficacy_known_answer() -> None:
    rng = np.random.default_rng(0)
    members = 0.98 + 0.02 * rng.random(500)  # retain: very confident
    non_members = 0.2 + 0.3 * rng.random(500)  # test: unsure
    # 30 forget samples look like members, 70 like non-members -> 70% called non-member
    forget = np.concatenate([0.99 * np.ones(30), 0.3 * np.ones(70)])
    assert mia_efficacy(members, non_members, forget) == pytest.approx(70.0)


def test_mia_efficacy_all_members_or_all_non_members() -> None:
    members = np.full(200, 0.99)
    non_members = np.full(200, 0.4)
    assert mia_efficacy(members, non_members, np.full(10, 0.99)) == 0.0
    assert mia_efficacy(members, non_members, np.full(10, 0.4)) == 100.0


def test_mia_balances_members_to_a_smaller_test_set() -> None:
    # 300 retain samples but only 100 test samples: only the first 100 retain samples are used.
    # The first 100 members sit at 0.9; the remaining 200 at 0.3, which would otherwise make
    # 0.3 look like membership.
    members = np.concatenate([np.full(100, 0.9), np.full(200, 0.3)])
    non_members = np.full(100, 0.3)
    assert mia_efficacy(members, non_members, np.full(5, 0.3)) == 100.0


def test_mia_uses_at_most_10000_members() -> None:
    members = np.concatenate([np.full(10_000, 0.95), np.full(2_000, 0.2)])
    non_members = np.full(10_000, 0.2)
    assert mia_efficacy(members, non_members, np.full(4, 0.2)) == 100.0


def test_membership_auc() -> None:
    assert membership_auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert membership_auc(np.array([0.1, 0.2]), np.array([0.9, 0.8])) == 0.0
    assert membership_auc(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.5
    # one swapped pair out of four -> 0.75
    assert membership_auc(np.array([0.9, 0.3]), np.array([0.4, 0.1])) == 0.75
