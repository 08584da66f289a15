"""Membership-inference measures on per-sample confidences.

``mia_efficacy`` is exactly the protocol of the unlearning literature (SalUn and
its predecessors, PROTOCOL.md section 3): an RBF SVC trained on the true-label
confidence of members (retain) vs non-members (test), applied to the forget set.
"""

from __future__ import annotations

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
    pred = clf.predict(values[:, None])[inverse]
    return float(100.0 * np.mean(pred == 0))


def membership_auc(conf_members: np.ndarray, conf_non_members: np.ndarray) -> float:
    """AUC of the confidence-threshold attack telling ``members`` from ``non_members``.

    0.5 means the two sets are indistinguishable by confidence; 1.0 means every
    member is more confident than every non-member.
    """
    scores = np.concatenate([conf_members, conf_non_members])
    labels = np.concatenate([np.ones(len(conf_members)), np.zeros(len(conf_non_members))])
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))
