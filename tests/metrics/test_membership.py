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


def _fitted(rng: np.random.Generator, n: int, scale: float = 1.0):
    from sklearn.svm import SVC

    x = np.concatenate([rng.beta(8.0, 1.0, n), rng.beta(4.0, 1.5, n)])[:, None] * scale
    y = np.concatenate([np.ones(n), np.zeros(n)])
    return SVC(C=3, gamma="auto", kernel="rbf").fit(x, y)


class _Counting:
    """``clf`` with its ``predict`` calls counted (how many values went to libsvm itself)."""

    def __init__(self, clf) -> None:
        self.clf, self.asked = clf, []

    def __getattr__(self, name: str):
        return getattr(self.clf, name)

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.asked.append(len(x))
        return self.clf.predict(x)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_series_route_gives_libsvm_s_labels(seed) -> None:
    """On a dense grid, on the support vectors themselves and on the training points: every
    label equals ``SVC.predict``'s, without asking libsvm (no value is near the boundary)."""
    from paretoul.metrics.membership import predict_1d

    rng = np.random.default_rng(seed)
    clf = _fitted(rng, 400)
    values = np.concatenate([np.linspace(0.0, 1.0, 20001), clf.support_vectors_[:, 0],
                             rng.beta(6.0, 1.0, 2000)])
    counting = _Counting(clf)
    assert np.array_equal(predict_1d(counting, values, gamma=1.0), clf.predict(values[:, None]))
    assert not counting.asked


def test_values_within_the_error_bound_are_asked_of_libsvm() -> None:
    """A value bisected onto the decision boundary (|f| below rounding) is not labelled by the
    series: libsvm answers it, so the label is libsvm's even there."""
    from paretoul.metrics.membership import predict_1d

    clf = _fitted(np.random.default_rng(5), 300)
    grid = np.linspace(0.0, 1.0, 4001)
    f = clf.decision_function(grid[:, None])
    i = int(np.flatnonzero(np.sign(f[:-1]) != np.sign(f[1:]))[0])
    lo, hi = grid[i], grid[i + 1]
    for _ in range(200):  # to the last bits
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if np.sign(clf.decision_function([[mid]])[0]) == np.sign(f[i]):
            lo = mid
        else:
            hi = mid
    values = np.array([lo, hi, 0.5 * (lo + hi), 0.25, 0.75])
    counting = _Counting(clf)
    assert np.array_equal(predict_1d(counting, values, gamma=1.0), clf.predict(values[:, None]))
    assert counting.asked and counting.asked[0] >= 2  # the boundary values went to libsvm


def test_inputs_whose_series_is_long_go_to_libsvm() -> None:
    """Inputs far from [0, 1] (the series would need too many terms): every value to libsvm."""
    from paretoul.metrics.membership import predict_1d

    clf = _fitted(np.random.default_rng(6), 200, scale=30.0)
    values = np.linspace(0.0, 30.0, 501)
    counting = _Counting(clf)
    assert np.array_equal(predict_1d(counting, values, gamma=1.0), clf.predict(values[:, None]))
    assert counting.asked == [len(values)]
