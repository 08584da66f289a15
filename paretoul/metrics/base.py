"""The metric registry and the per-model evaluation context metrics read from.

A metric is a named function of an :class:`EvalContext` (one model's outputs,
the splits, and optionally the retrain oracle's context). Objectives are
metrics with a direction; studies refer to them by name only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from paretoul._registry import Registry
from paretoul.data.splits import Splits
from paretoul.metrics.membership import membership_auc, mia_efficacy
from paretoul.metrics.outputs import Outputs
from paretoul.training.deadline import check_deadline


class EvalContext:
    """Everything a metric may read about one model; expensive pieces computed once."""

    def __init__(
        self,
        outputs: Outputs,
        train_y: torch.Tensor | np.ndarray,
        test_y: torch.Tensor | np.ndarray,
        splits: Splits,
        oracle: EvalContext | None = None,
        runtime_s: float | None = None,
    ) -> None:
        self.outputs = outputs
        self.train_y = torch.as_tensor(np.asarray(train_y.cpu() if torch.is_tensor(train_y) else train_y))
        self.test_y = torch.as_tensor(np.asarray(test_y.cpu() if torch.is_tensor(test_y) else test_y))
        self.splits = splits
        self.oracle = oracle
        self.runtime_s = runtime_s

    # -- per-set views ---------------------------------------------------------------------
    def _indices(self, part: str) -> torch.Tensor:
        if part == "matched_reference":
            return self._matched_reference
        return torch.as_tensor(getattr(self.splits, part))

    @cached_property
    def _matched_reference(self) -> torch.Tensor:
        # Reference samples of the classes present in the forget set: all of them for random
        # forgetting, only the forgotten classes for class-wise forgetting.
        ref = torch.as_tensor(self.splits.reference)
        classes = self.train_y[torch.as_tensor(self.splits.forget)].unique()
        return ref[torch.isin(self.train_y[ref], classes)]

    @cached_property
    def _test_parts(self) -> dict[str, torch.Tensor]:
        # Class-wise forgetting (PROTOCOL.md section 1, as SalUn): "test" holds the test samples
        # of the retained classes only (TA, the MIA's non-members, JS on test); the forgotten
        # classes' test samples are "test_forgotten" (their accuracy is ta_forgotten).
        test = torch.as_tensor(self.splits.test)
        gone = torch.isin(self.test_y[test], torch.as_tensor(self.splits.forgotten_classes,
                                                              dtype=self.test_y.dtype))
        return {"test": test[~gone], "test_forgotten": test[gone]}

    def probs(self, part: str) -> torch.Tensor:
        """Softmax rows of ``part``: forget, retain, reference, matched_reference, test (the
        retained classes' test samples under class-wise forgetting) or test_forgotten."""
        if part in self._test_parts:
            return self.outputs.test[self._test_parts[part]]
        return self.outputs.train[self._indices(part)]

    def labels(self, part: str) -> torch.Tensor:
        if part in self._test_parts:
            return self.test_y[self._test_parts[part]]
        return self.train_y[self._indices(part)]

    def accuracy(self, part: str) -> float:
        """Accuracy in percent on ``part`` (NaN for an empty part)."""
        return self._accuracy[part]

    def confidence(self, part: str) -> np.ndarray:
        """Softmax probability of the true label, per sample of ``part``."""
        p = self.probs(part)
        return p.gather(1, self.labels(part)[:, None]).squeeze(1).double().numpy()

    @cached_property
    def _accuracy(self) -> dict[str, float]:
        out = {}
        for part in ("forget", "retain", "reference", "matched_reference", "test", "test_forgotten"):
            p = self.probs(part)
            out[part] = float("nan") if len(p) == 0 else 100.0 * float(
                (p.argmax(1) == self.labels(part)).double().mean()
            )
        return out

    @cached_property
    def mia(self) -> float:
        return mia_efficacy(
            self.confidence("retain"), self.confidence("test"), self.confidence("forget")
        )

    @cached_property
    def ref_auc(self) -> float:
        if len(self._matched_reference) == 0:
            return float("nan")
        return membership_auc(self.confidence("forget"), self.confidence("matched_reference"))

    def require_oracle(self) -> EvalContext:
        if self.oracle is None:
            raise ValueError("this metric needs the retrain oracle")
        return self.oracle


@dataclass(frozen=True)
class Metric:
    """A registered metric: its function, unit and, for objectives, the direction to optimise."""

    name: str
    fn: Callable[[EvalContext], float]
    direction: str  # "min" | "max"
    needs_oracle: bool
    unit: str
    summary: str
    needs_reference: bool = False
    """Reads the held-out reference set (skipped when the splits have none)."""
    class_wise: bool = False
    """Only defined for class-wise forgetting (skipped for random forgetting)."""
    ideal: float | None = None
    """The best value the metric can take (0 for a gap), where there is one: a comparison's
    normalisation starts there instead of at the best trial."""


METRICS: Registry[Metric] = Registry("metric")


def register_metric(
    name: str, direction: str, summary: str, unit: str = "%", needs_oracle: bool = False,
    needs_reference: bool = False, class_wise: bool = False, ideal: float | None = None,
) -> Callable[[Callable[[EvalContext], float]], Callable[[EvalContext], float]]:
    if direction not in ("min", "max", "match"):
        raise ValueError(direction)

    def deco(fn: Callable[[EvalContext], float]) -> Callable[[EvalContext], float]:
        METRICS.add(name, Metric(name, fn, direction, needs_oracle, unit, summary, needs_reference,
                                 class_wise, ideal))
        return fn

    return deco


def evaluate(ctx: EvalContext, names: list[str] | None = None) -> dict[str, float]:
    """Compute the named metrics (default: all that ``ctx`` has the inputs for)."""
    chosen = names if names is not None else METRICS.names()
    out: dict[str, float] = {}
    for name in chosen:
        metric = METRICS.get(name)
        if metric.needs_oracle and ctx.oracle is None:
            if names is not None:
                raise ValueError(f"metric {name!r} needs the retrain oracle")
            continue
        if name == "rte" and ctx.runtime_s is None:
            continue
        if metric.needs_reference and len(ctx.probs("matched_reference")) == 0:
            if names is not None:
                raise ValueError(f"metric {name!r} needs a non-empty reference set")
            continue
        if metric.class_wise and not ctx.splits.forgotten_classes:
            if names is not None:
                raise ValueError(f"metric {name!r} is defined for class-wise forgetting only")
            continue
        check_deadline()  # a run past its time limit stops between metrics (the MIA's SVC fit)
        out[name] = float(metric.fn(ctx))
    return out
