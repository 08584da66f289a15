"""Unlearning metrics (registry by name), batched inference and membership inference."""

from paretoul.metrics import definitions  # noqa: F401  (registers the metrics)
from paretoul.metrics.base import METRICS, EvalContext, Metric, evaluate, register_metric
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
