"""The registered metrics, all in percent unless stated.

What each measures: paretoul/README.md#protocol-what-the-numbers-mean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from paretoul.fidelity import Fidelity
from paretoul.metrics.registry import register_metric

if TYPE_CHECKING:
    from paretoul.metrics.context import EvalContext


@register_metric("ua", "match", "unlearning accuracy: 100 - accuracy on the forget set")
def ua(c: EvalContext) -> float:
    return 100.0 - c.accuracy("forget")


@register_metric("ra", "max", "accuracy on the retain set")
def ra(c: EvalContext) -> float:
    return c.accuracy("retain")


_TA_FIDELITY = Fidelity(
    'class-wise evaluation (`dataset.py`)',
    "the forgotten classes' test samples are removed from the test set (TA, MIA non-members)",
    'the same; their accuracy is `ta_forgotten`',
    '—')


@register_metric("ta", "max", "accuracy on the test set (oracle-free utility objective); under "
                 "class-wise forgetting on the retained classes' test samples",
                 fidelity=_TA_FIDELITY)
def ta(c: EvalContext) -> float:
    return c.accuracy("test")


@register_metric("ta_forgotten", "match", "class-wise forgetting only: accuracy on the forgotten "
                 "classes' test samples (about 0 for the oracle)", class_wise=True)
def ta_forgotten(c: EvalContext) -> float:
    return c.accuracy("test_forgotten")


_MIA_FIDELITY = Fidelity(
    'MIA-Efficacy (`evaluation/SVC_MIA.py`, `SVC_fit_predict` on confidences)',
    "`SVC(C=3, gamma='auto', kernel='rbf')` fitted on shadow members vs non-members, then "
    '`predict` on every forget sample; score 1 − mean prediction',
    'the same fit; each distinct forget confidence predicted once and mapped back, and '
    "labelled from the SVC's own support vectors, coefficients and intercept by a moment "
    'series of its decision function (O(SV + values) instead of O(SV × values)), with libsvm '
    "itself asked about any value within a bound on both computations' rounding of the "
    "boundary, so every label is libsvm's (`tests/metrics/test_membership.py` checks both "
    'against the per-sample route, on a dense grid, on values bisected onto the boundary and '
    'on inputs where the series would be long)',
    'confidences in float64 from the softmax; members are the first min(10,000, |retain|) '
    'retain samples (see Protocol)')


@register_metric("mia", "match", "MIA-Efficacy: % of forget samples an SVC on confidence calls "
                 "non-members (trained on retain vs test; retained-class test under class-wise)",
                 fidelity=_MIA_FIDELITY)
def mia(c: EvalContext) -> float:
    return c.mia


@register_metric("rte", "min", "run-time efficiency: wall time of the unlearning run", unit="s")
def rte(c: EvalContext) -> float:
    return float(c.runtime_s if c.runtime_s is not None else float("nan"))


def _gaps(c: EvalContext, names: tuple[str, ...]) -> float:
    o = c.require_oracle()
    fns = {"ua": ua, "ra": ra, "ta": ta, "mia": mia}
    return float(np.mean([abs(fns[n](c) - fns[n](o)) for n in names]))


@register_metric("avg_gap", "min", "mean |metric - oracle's| over UA, RA, TA, MIA",
                 needs_oracle=True, ideal=0.0)
def avg_gap(c: EvalContext) -> float:
    return _gaps(c, ("ua", "ra", "ta", "mia"))


@register_metric("forget_gap", "min", "forget-quality objective: mean(|UA - UA_r|, |MIA - MIA_r|)",
                 needs_oracle=True, ideal=0.0)
def forget_gap(c: EvalContext) -> float:
    return _gaps(c, ("ua", "mia"))


@register_metric("retain_gap", "min", "retain-utility objective: mean(|RA - RA_r|, |TA - TA_r|)",
                 needs_oracle=True, ideal=0.0)
def retain_gap(c: EvalContext) -> float:
    return _gaps(c, ("ra", "ta"))


@register_metric("js_forget", "min", "mean Jensen-Shannon divergence to the oracle's softmax on "
                 "the forget set (nats)", unit="nats", needs_oracle=True, ideal=0.0)
def js_forget(c: EvalContext) -> float:
    from paretoul.metrics.divergence import mean_js  # torch: imported when a metric is computed

    return mean_js(c.probs("forget"), c.require_oracle().probs("forget"))


@register_metric("js_test", "min", "mean Jensen-Shannon divergence to the oracle's softmax on "
                 "the test set (nats)", unit="nats", needs_oracle=True, ideal=0.0)
def js_test(c: EvalContext) -> float:
    from paretoul.metrics.divergence import mean_js

    return mean_js(c.probs("test"), c.require_oracle().probs("test"))


@register_metric("ref_acc_gap", "min", "oracle-free: |accuracy on forget - accuracy on the "
                 "held-out reference samples of the same classes|", needs_reference=True, ideal=0.0)
def ref_acc_gap(c: EvalContext) -> float:
    return abs(c.accuracy("forget") - c.accuracy("matched_reference"))


@register_metric("ref_mia_auc", "match", "oracle-free: AUC of a confidence attack separating "
                 "forget from same-class reference samples (0.5 = indistinguishable)", unit="AUC",
                 needs_reference=True)
def ref_mia_auc(c: EvalContext) -> float:
    return c.ref_auc


@register_metric("ref_gap", "min", "oracle-free forget objective: mean(ref_acc_gap, "
                 "100 * |ref_mia_auc - 0.5|)", needs_reference=True, ideal=0.0)
def ref_gap(c: EvalContext) -> float:
    return float(np.mean([ref_acc_gap(c), 100.0 * abs(c.ref_auc - 0.5)]))
