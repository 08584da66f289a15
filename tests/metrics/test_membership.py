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


def _salun_route(members: np.ndarray, non_members: np.ndarray, forget: np.ndarray) -> float:
    """SalUn's evaluation as written: the SVC fitted as ``mia_efficacy`` fits it, asked about every
    forget sample (paretoul asks each distinct value once)."""
    from sklearn.svm import SVC

    m = members[:10_000][: len(non_members)]
    x = np.concatenate([m, non_members])[:, None]
    y = np.concatenate([np.ones(len(m)), np.zeros(len(non_members))])
    pred = SVC(C=3, gamma="auto", kernel="rbf").fit(x, y).predict(forget[:, None])
    return float(100.0 * np.mean(pred == 0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_asking_each_distinct_forget_value_once_gives_salun_s_answer(seed) -> None:
    rng = np.random.default_rng(seed)
    # confidences as a trained model gives them: most near 1, many repeated exactly
    def conf(n: int, a: float) -> np.ndarray:
        return np.round(rng.beta(a, 1.0, n), int(rng.integers(2, 5)))
    members, non_members, forget = conf(900, 8.0), conf(800, 4.0), conf(300, 6.0)
    assert len(np.unique(forget)) < len(forget)  # the case the shortcut is for
    assert mia_efficacy(members, non_members, forget) == _salun_route(members, non_members, forget)


def test_the_answer_on_a_trained_model_s_confidences_is_salun_s(digits_art) -> None:
    for ctx in (digits_art.original_context, digits_art.oracle_context):
        parts = [ctx.confidence(p) for p in ("retain", "test", "forget")]
        assert mia_efficacy(*parts) == _salun_route(*parts)
