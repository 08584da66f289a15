"""The metric registry, and ``evaluate`` (every metric a context has the inputs for).

A metric is a named function of an :class:`~paretoul.metrics.context.EvalContext`. Objectives
are metrics with a direction; studies refer to them by name only. This module imports no
torch, so listing metrics and checking a spec's objectives stay cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul._registry import Registry
from paretoul.fidelity import Fidelity
from paretoul.training.deadline import check_deadline

if TYPE_CHECKING:
    from paretoul.metrics.context import EvalContext


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
    fidelity: Fidelity | None = None
    """How it compares with the reference code it follows (``paretoul metrics NAME``)."""


METRICS: Registry[Metric] = Registry("metric")


def register_metric(
    name: str, direction: str, summary: str, unit: str = "%", needs_oracle: bool = False,
    needs_reference: bool = False, class_wise: bool = False, ideal: float | None = None,
    fidelity: Fidelity | None = None,
) -> Callable[[Callable[[EvalContext], float]], Callable[[EvalContext], float]]:
    if direction not in ("min", "max", "match"):
        raise ValueError(direction)

    def deco(fn: Callable[[EvalContext], float]) -> Callable[[EvalContext], float]:
        METRICS.add(name, Metric(name, fn, direction, needs_oracle, unit, summary, needs_reference,
                                 class_wise, ideal, fidelity))
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
