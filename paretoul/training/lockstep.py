"""Several runs of the training loop stepped together as one grouped model.

A method's unlearning is one (or a few) calls of :func:`~paretoul.training.loop.train_loop`
with a batch schedule, ``losses`` and ``combine`` of its own. Run on K seeds, the K calls
differ in their data (splits, batch order, the original's weights) but not in their code. When
they can (:func:`lockstep_problem` says why not), :func:`train_lockstep` runs them as one
:class:`~paretoul.training.ensemble.GroupedMLP`: each step stacks the K members' batches, runs
one batched forward per batch part, hands each member's own ``losses`` the slice of the logits
that its model would have computed (through a stand-in model that returns it), and steps one
SGD over the stacked weights. ``combine`` is taken from what it declares: a fixed weighted sum
(``weighted_backward``: one backward of the members' summed losses, which share no weight) or
a Jacobian-descent step (``jacobian_combine``: one backward per objective for all members, then
each member's own 2 x P Jacobian, aggregator and direction).

Bit-for-bit on CPU: each member ends with the weights, trace and step numbers of its lone run
single-threaded, at any thread count (the grouped layers' products and gradients are computed
member by member in the lone layout, see :mod:`~paretoul.training.ensemble`; the losses are the
method's own code on the same logits; SGD is elementwise).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from paretoul.training.ensemble import GroupedMLP
from paretoul.training.grouping import canonical_threads, groupable, plan, shapes
from paretoul.training.loop import (
    EPOCH_MEANS,
    AfterStep,
    Combine,
    LoopResult,
    Losses,
    Optimiser,
    train_loop,
    weighted_total,
)
from paretoul.training.schedules import Batch, Batches, BatchSchedule


@dataclass
class FitCall:
    """The arguments of one :func:`~paretoul.training.loop.train_loop` call."""

    model: nn.Module
    schedule: BatchSchedule
    losses: Losses
    combine: Combine
    epochs: int
    optimiser: Optimiser
    name: str
    after_step: AfterStep | None = None
    progress: bool = False

    def run(self) -> LoopResult:
        """The call itself, alone."""
        return train_loop(self.model, self.schedule, self.losses, self.combine, self.epochs,
                          self.optimiser, self.name, self.after_step, self.progress)


def _combine_kind(combine: Combine) -> tuple | None:
    if hasattr(combine, "weights"):
        return ("weighted", tuple(sorted(combine.weights.items())))  # type: ignore[attr-defined]
    if hasattr(combine, "jd"):
        return ("jacobian", combine.keys)  # type: ignore[attr-defined]
    return None


def lockstep_problem(calls: Sequence[FitCall]) -> str | None:
    """Why ``calls`` cannot run as one grouped model (None: they can)."""
    if len(calls) < 2:
        return "one run"
    first = calls[0]
    if not all(groupable(c.model) for c in calls):
        return "the model is not a Flatten/Linear/ReLU stack"
    if len({(plan(c.model), shapes(c.model)) for c in calls}) != 1:  # type: ignore[arg-type]
        return "the members' architectures differ"
    if any(c.after_step is not None for c in calls):
        return "an after-step hook (per member)"
    kinds = {_combine_kind(c.combine) for c in calls}
    if None in kinds or len(kinds) != 1:
        return "a combine rule that declares no grouped form"
    if any(c.epochs != first.epochs or c.optimiser != first.optimiser for c in calls):
        return "the members' epochs or optimisers differ"
    if first.optimiser.lr_at is not None:
        return "a learning-rate schedule"
    if len({(type(c.schedule), tuple(c.schedule.steps(e) for e in range(c.epochs))) for c in calls}) != 1:
        return "the members' batch schedules differ in kind or steps"
    return None


class _Stacked(BatchSchedule):
    """The members' own schedules side by side: each step, every part's batches stacked."""

    def __init__(self, schedules: Sequence[BatchSchedule]) -> None:
        self.schedules = schedules
        self.name = schedules[0].name

    def steps(self, epoch: int) -> int:
        return self.schedules[0].steps(epoch)

    def epoch(self, epoch: int) -> Iterator[Batches]:
        for parts in zip(*(s.epoch(epoch) for s in self.schedules), strict=True):
            keys = list(parts[0])
            if any(list(p) != keys for p in parts):
                raise RuntimeError("grouped members' steps hold different batch parts")
            out = {}
            for key in keys:
                idx = [getattr(p[key], "index", None) for p in parts]
                out[key] = Batch(torch.stack([p[key][0] for p in parts]),
                                 torch.stack([p[key][1] for p in parts]),
                                 None if any(i is None for i in idx) else torch.stack(idx))  # type: ignore[arg-type]
            yield out


class _Member:
    """Member ``k``'s model as its ``losses`` sees it: called on one of its step's inputs, it
    returns the grouped forward's slice for that input (what its own model computes)."""

    def __init__(self, outputs: dict[int, torch.Tensor]) -> None:
        self._outputs = outputs

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        try:
            return self._outputs[id(x)]
        except KeyError:
            raise RuntimeError("a grouped member's losses called its model on an input that is "
                               "not one of its step's batches") from None


def _member_batches(stacked: Batches, k: int) -> Batches:
    return {key: Batch(b[0][k], b[1][k], None if getattr(b, "index", None) is None else b.index[k])
            for key, b in stacked.items()}


def _grouped_losses(calls: Sequence[FitCall]) -> Losses:
    def losses(model: nn.Module, stacked: Batches, progress: float) -> dict[str, torch.Tensor]:
        logits = {key: model(b[0]) for key, b in stacked.items()}
        named = []
        for k, call in enumerate(calls):
            mine = _member_batches(stacked, k)
            member = _Member({id(mine[key][0]): logits[key][k] for key in mine})
            named.append(call.losses(member, mine, progress))  # type: ignore[arg-type]
        keys = list(named[0])
        if any(list(n) != keys for n in named):
            raise RuntimeError("grouped members' losses returned different names")
        return {key: torch.stack([n[key] for n in named]) for key in keys}

    return losses


def _lone_order(grouped: GroupedMLP) -> list[tuple[nn.Parameter, int]]:
    """The grouped parameters in a lone member's ``parameters()`` order (weight, bias per layer)."""
    out = []
    for w, b in zip(grouped.weights, grouped.biases, strict=True):
        out += [(w, 0), (b, 0)]
    return out


def _grouped_combine(calls: Sequence[FitCall], grouped: GroupedMLP) -> Combine:
    kind = _combine_kind(calls[0].combine)
    assert kind is not None
    if kind[0] == "weighted":
        weights = dict(kind[1])

        def weighted(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            total = weighted_total(weights, named)
            if isinstance(total, torch.Tensor):
                total.sum().backward()  # members share no weight: each gets its own gradient
            return {}

        return weighted

    keys = kind[1]
    params = [p for p, _ in _lone_order(grouped)]
    jds = [c.combine.jd for c in calls]  # type: ignore[attr-defined]
    traces = [c.combine.trace for c in calls]  # type: ignore[attr-defined]

    def jacobian(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        for i, key in enumerate(keys):
            grads = torch.autograd.grad(named[key].sum(), params, allow_unused=True)
            for k, jd in enumerate(jds):
                jd.set_row(i, [None if g is None else g[k] for g in grads])
        entries = []
        with canonical_threads(calls[0].model):  # each member's step as its lone run takes it
            for jd, trace in zip(jds, traces, strict=True):
                entries.append(trace(jd.apply(), jd))
        with torch.no_grad():
            for j, p in enumerate(params):
                p.grad = torch.stack([jd.params[j].grad for jd in jds])  # type: ignore[misc]
        return {key: torch.stack([e[key] for e in entries]) for key in entries[0]}

    return jacobian


def _member_trace(trace: dict[str, list], k: int, n: int, per_step: set[str]) -> dict[str, list]:
    """Member ``k``'s trace from the group's: its element of each per-epoch vector, and its
    column of each per-step number (which the loop split into ``KEY_0`` ... ``KEY_{n-1}``)."""
    split = {f"{key}_{j}" for key in per_step for j in range(n)}
    out: dict[str, list] = {}
    for key, values in trace.items():
        if key not in split:
            out[key] = [epoch[k] for epoch in values]
    for key in per_step:
        out[key] = trace[f"{key}_{k}"]
    return out


def train_lockstep(calls: Sequence[FitCall]) -> list[LoopResult]:
    """Run ``calls`` (:func:`lockstep_problem` None) as one grouped model; each member's model
    ends with its trained weights in eval mode, and its result holds its own trace (its share
    of the group's wall time as ``seconds``)."""
    t0 = time.perf_counter()
    models = [c.model for c in calls]
    grouped = GroupedMLP(models)
    first = calls[0]
    combine = _grouped_combine(calls, grouped)
    step_keys: set[str] = set()

    def recording(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logged = combine(named)
        step_keys.update(k for k in logged if k not in EPOCH_MEANS)
        return logged

    res = train_loop(grouped, _Stacked([c.schedule for c in calls]), _grouped_losses(calls),
                     recording, first.epochs, first.optimiser, f"{len(calls)} x {first.name}",
                     None, first.progress)
    grouped.write_back(models)
    for c in calls:  # the members' own parameters: drop the last step's direction views
        for p in c.model.parameters():
            p.grad = None
    share = (time.perf_counter() - t0) / len(calls)
    return [LoopResult(_member_trace(res.trace, k, len(calls), step_keys), share, len(calls))
            for k in range(len(calls))]


def run_calls(calls: Sequence[FitCall]) -> tuple[list[LoopResult], str | None]:
    """Every call's result: as one grouped model where :func:`lockstep_problem` allows, else
    one after another; and why they were not grouped (None: they were)."""
    why = lockstep_problem(calls)
    if why is None:
        return train_lockstep(calls), None
    out = []
    for c in calls:
        with canonical_threads(c.model):
            out.append(c.run())
    return out, why

