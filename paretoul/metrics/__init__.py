"""Unlearning metrics (registry by name), batched inference and membership inference.

The registry and the metric definitions import no torch; the evaluation context, inference
and the divergences load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretoul._lazy import lazy_exports
from paretoul.metrics import definitions  # noqa: F401  (registers the metrics)
from paretoul.metrics.registry import METRICS, Metric, evaluate, register_metric

_EXPORTS = {
    "EvalContext": "paretoul.metrics.context",
    "js_divergence": "paretoul.metrics.divergence", "mean_js": "paretoul.metrics.divergence",
    "membership_auc": "paretoul.metrics.membership", "mia_efficacy": "paretoul.metrics.membership",
    "Outputs": "paretoul.metrics.outputs", "predict": "paretoul.metrics.outputs",
}
__getattr__, __dir__ = lazy_exports("paretoul.metrics", _EXPORTS, globals())

if TYPE_CHECKING:
    from paretoul.metrics.context import EvalContext
    from paretoul.metrics.divergence import js_divergence, mean_js
    from paretoul.metrics.membership import membership_auc, mia_efficacy
    from paretoul.metrics.outputs import Outputs, predict

__all__ = [
    "METRICS",
    "EvalContext",
    "Metric",
    "Outputs",
    "evaluate",
    "js_divergence",
    "mean_js",
    "membership_auc",
    "mia_efficacy",
    "predict",
    "register_metric",
]
