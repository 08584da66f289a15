"""Membership-inference measures on per-sample confidences.

``mia_efficacy`` is exactly the protocol of the unlearning literature (SalUn and
its predecessors; paretoul/README.md#protocol-what-the-numbers-mean): an RBF SVC trained on
the true-label confidence of members (retain) vs non-members (test), applied to the forget set.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MAX_MEMBERS = 10_000


def mia_efficacy(conf_retain: np.ndarray, conf_test: np.ndarray, conf_forget: np.ndarray) -> float:
    """Percentage of forget samples an SVC on confidences calls non-members.

    Members: the first ``min(10,000, |retain|)`` retain confidences (label 1),
    cut to ``|test|`` when the test set is smaller; non-members: the test set
    (label 0). ``SVC(C=3, gamma="auto", kernel="rbf")``.
    """
    members = np.asarray(conf_retain, dtype=np.float64)[:MAX_MEMBERS]
    non_members = np.asarray(conf_test, dtype=np.float64)
    if len(non_members) < len(members):
        members = members[: len(non_members)]
    if len(members) == 0 or len(non_members) == 0 or len(conf_forget) == 0:
        raise ValueError("mia_efficacy needs non-empty retain, test and forget confidences")
    x = np.concatenate([members, non_members])[:, None]
    y = np.concatenate([np.ones(len(members)), np.zeros(len(non_members))])
    from sklearn.svm import SVC  # here, not at the top: scikit-learn costs a second to import

    clf = SVC(C=3, gamma="auto", kernel="rbf")
    clf.fit(x, y)
    # Each distinct forget confidence is asked once: a prediction depends on its input alone, so
    # this is the same answer for every sample (about a quarter of the forget set repeats a value).
    values, inverse = np.unique(np.asarray(conf_forget, dtype=np.float64), return_inverse=True)
    pred = predict_1d(clf, values, gamma=1.0)[inverse]  # gamma "auto" = 1 / n_features
    return float(100.0 * np.mean(pred == 0))


_EPS = float(np.finfo(np.float64).eps)
_MAX_TERMS = 80


def predict_1d(clf: Any, values: np.ndarray, gamma: float) -> np.ndarray:
    """``clf.predict(values[:, None])`` of a fitted binary RBF ``SVC`` on one feature: the same
    labels, in O((support vectors + values) x terms) instead of O(support vectors x values).

    The decision function f(x) = sum_i c_i exp(-gamma (x - s_i)^2) + b is summed as
    exp(-gamma x^2) sum_k (2 gamma x)^k / k! M_k with moments M_k = sum_i c_i exp(-gamma s_i^2)
    s_i^k (the series of exp(2 gamma x s), truncated where its remainder is below rounding).
    A label is taken from that sum only where |f| exceeds a bound on the error of both this sum
    and libsvm's own (rounding of every term and of the sums, and the truncation); the values
    within it, and any input whose series would need too many terms, are asked of ``clf``
    itself. So every label is libsvm's."""
    values = np.asarray(values, dtype=np.float64)
    s = np.asarray(clf.support_vectors_, dtype=np.float64)[:, 0]
    c = np.asarray(clf.dual_coef_, dtype=np.float64)[0]
    b = float(clf.intercept_[0])
    if len(values) == 0:
        return np.asarray(clf.classes_)[:0]
    big_x, big_s = float(np.abs(values).max()), float(np.abs(s).max())
    z = 2.0 * gamma * big_x * big_s
    terms = _terms_for(z)
    if terms is None:
        return clf.predict(values[:, None])
    moments = np.empty(terms + 1)
    t = c * np.exp(-gamma * s * s)
    for k in range(terms + 1):
        moments[k] = t.sum()
        t = t * s
    acc = np.full(len(values), moments[0])
    term = np.ones(len(values))
    for k in range(1, terms + 1):
        term = term * (2.0 * gamma * values / k)
        acc += moments[k] * term
    f = np.exp(-gamma * values * values) * acc + b
    a, n = float(np.abs(c).sum()), len(s)
    ours = a * np.exp(z) * ((n + 2 * terms + 8) * _EPS + _remainder(z, terms)) + _EPS * abs(b)
    libsvm = a * ((n + 4) * _EPS + 4 * gamma * _EPS * (big_x ** 2 + big_s ** 2)) + _EPS * abs(b)
    sure = np.abs(f) > 2.0 * (ours + libsvm)
    classes = np.asarray(clf.classes_)
    out = np.where(f > 0, classes[1], classes[0])
    if not sure.all():
        out[~sure] = clf.predict(values[~sure][:, None])
    return out


def _remainder(z: float, terms: int) -> float:
    """A bound on the tail sum_{k > terms} z^k / k! relative to exp(z) (z >= 0)."""
    return float(np.exp((terms + 1) * np.log(max(z, 1e-300)) - math.lgamma(terms + 2)))


def _terms_for(z: float) -> int | None:
    """The fewest series terms whose remainder is below rounding (None: more than
    :data:`_MAX_TERMS`, where the plain route is cheaper)."""
    for k in range(1, _MAX_TERMS + 1):
        if _remainder(z, k) < _EPS * 1e-3:
            return k
    return None


def membership_auc(conf_members: np.ndarray, conf_non_members: np.ndarray) -> float:
    """AUC of the confidence-threshold attack telling ``members`` from ``non_members``.

    0.5 means the two sets are indistinguishable by confidence; 1.0 means every
    member is more confident than every non-member.
    """
    scores = np.concatenate([conf_members, conf_non_members])
    labels = np.concatenate([np.ones(len(conf_members)), np.zeros(len(conf_non_members))])
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))
