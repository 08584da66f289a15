"""Many small models trained at once: a grouped MLP whose K members step together.

An audit trains 2N models and a study an original and an oracle per seed; for a small MLP one
training step is mostly framework overhead (autograd, the optimiser, Python), paid per model.
:func:`sgd_train_many` stacks the K members' weights into ``(K, out, in)`` tensors, runs one
batched matmul per layer for all K (each member on its own minibatch), and steps one SGD over
the stacked tensors, so the overhead is paid once per step instead of K times.

Bit-for-bit: on CPU, a member trained in a group of K >= 2 ends with exactly the weights
(and loss trace) it gets when trained alone, whatever the thread counts: MKL's batched matmul
runs each member's product as one single-threaded GEMM, the backward below computes each
gradient in the layout the unbatched ``addmm`` backward uses, and SGD's update is elementwise;
and a groupable model trained alone (:func:`~paretoul.training.scratch.train_one`) trains
single-threaded, because MKL splits a lone GEMM across threads and that changes its last bits.
So a cached original or oracle is the same bits whichever path, and however many cores, built
it. On CUDA the results agree to rounding, not bits (cuBLAS picks kernels by shape).

What groups: members of the same architecture made only of ``Flatten``, ``Linear`` (with bias)
and ``ReLU`` (paretoul's ``mlp``), trained under one recipe on index sets of one size (the
steps line up). Anything else (a CNN, BatchNorm, sets of other sizes) trains one by one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from paretoul.data.base import DataBundle
from paretoul.training.grouping import groupable, plan, shapes
from paretoul.training.loop import LoopResult, train_loop
from paretoul.training.recipe import Recipe
from paretoul.training.schedules import Batches, BatchSchedule, Source
from paretoul.training.scratch import Job, optimiser_for, source_for, train_one


class _GroupedLinear(torch.autograd.Function):
    """``x @ w.T + b`` per member: x (K, B, in), w (K, out, in), b (K, out).

    The backward mirrors the unbatched ``addmm`` backward member by member: the weight's
    gradient as ``g.T @ x`` (the layout ``mm_mat2_backward`` picks for ``W.t()``), the input's
    as ``g @ w``, the bias's as the sum over the batch."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, w: torch.Tensor,
                b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx: torch.autograd.function.FunctionCtx, g: torch.Tensor
                 ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
        x, w = ctx.saved_tensors  # type: ignore[attr-defined]
        gx = torch.bmm(g, w).to(x.dtype) if ctx.needs_input_grad[0] else None  # type: ignore[attr-defined]
        # under CUDA autocast g is bf16; the gradients keep their tensors' dtypes (no-ops on CPU)
        return gx, torch.bmm(g.transpose(1, 2), x).to(w.dtype), g.sum(1).to(w.dtype)


class GroupedMLP(nn.Module):
    """K MLPs of one architecture as one module: ``forward`` maps (K, B, ...) to (K, B, classes)."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        first = members[0]
        if not all(groupable(m) for m in members) or len({(plan(m), shapes(m))  # type: ignore[arg-type]
                                                          for m in members}) != 1:
            raise ValueError("GroupedMLP needs members of one Flatten/Linear/ReLU architecture")
        self.plan = plan(first)  # type: ignore[arg-type]
        linears = [[layer for layer in m if isinstance(layer, nn.Linear)] for m in members]  # type: ignore[union-attr]
        with torch.no_grad():
            self.weights = nn.ParameterList(
                torch.stack([ls[j].weight for ls in linears]) for j in range(len(linears[0])))
            self.biases = nn.ParameterList(
                torch.stack([ls[j].bias for ls in linears]) for j in range(len(linears[0])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        j = 0
        for step in self.plan:
            if step == "flatten":
                x = x.flatten(2)
            elif step == "linear":
                x = _GroupedLinear.apply(x, self.weights[j], self.biases[j])
                j += 1
            else:
                x = torch.relu(x)
        return x

    def write_back(self, members: Sequence[nn.Module]) -> None:
        """Copy member k's trained weights into ``members[k]`` (and put it in eval mode)."""
        with torch.no_grad():
            for k, m in enumerate(members):
                linears = [layer for layer in m if isinstance(layer, nn.Linear)]  # type: ignore[union-attr]
                for j, layer in enumerate(linears):
                    layer.weight.copy_(self.weights[j][k])
                    layer.bias.copy_(self.biases[j][k])
                m.eval()


class _GroupedPass(BatchSchedule):
    """Each epoch one pass over each member's own set, side by side: step s holds every
    member's s-th minibatch (drawn from that member's own order stream), stacked."""

    name = "train"

    def __init__(self, sources: Sequence[Source]) -> None:
        self.sources = sources

    def steps(self, epoch: int) -> int:
        return self.sources[0].steps

    def epoch(self, epoch: int) -> Iterator[Batches]:
        if any(s.augment is not None for s in self.sources):  # each member augments its own batch
            for parts in zip(*(s.one_pass() for s in self.sources), strict=True):
                yield {"train": (torch.stack([x for x, _ in parts]), torch.stack([y for _, y in parts]))}
            return
        data = self.sources[0].data
        for sels in zip(*(s.index_batches() for s in self.sources), strict=True):
            sel = torch.stack(sels)  # (K, B): one gather for all members
            yield {"train": (data.train_x[sel], data.train_y[sel])}


def _ce_each(model: nn.Module, batches: Batches, progress: float) -> dict[str, torch.Tensor]:
    """Each member's mean cross-entropy on its own batch, slice by slice as the unbatched path
    computes it (one fused mean over (K, B) would sum in another order: other last bits)."""
    x, y = batches["train"]
    logits = model(x).float()
    return {"loss": torch.stack([F.cross_entropy(logits[k], y[k]) for k in range(len(y))])}


def _sum_backward(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    named["loss"].sum().backward()  # the members share no weight: each gets its own loss's gradient
    return {}


def _groups(jobs: Sequence[Job]) -> list[list[int]]:
    """Job indices that can train together (one model alone is a group of one)."""
    keyed: dict[tuple, list[int]] = {}
    for i, job in enumerate(jobs):
        if groupable(job.model):
            key: tuple = ("group", plan(job.model), shapes(job.model), len(job.indices))  # type: ignore[arg-type]
        else:
            key = ("alone", i)
        keyed.setdefault(key, []).append(i)
    return list(keyed.values())


def train_group(jobs: Sequence[Job], data: DataBundle, recipe: Recipe, progress: bool = False
                ) -> list[LoopResult]:
    """Train ``jobs`` (groupable, one architecture, index sets of one size) as one grouped model;
    each job's model ends with its trained weights, in eval mode."""
    t0 = time.perf_counter()
    grouped = GroupedMLP([j.model for j in jobs])
    name = f"{len(jobs)} models ({jobs[0].purpose}, ...)"
    res = train_loop(grouped, _GroupedPass([source_for(data, j, recipe) for j in jobs]), _ce_each,
                     _sum_backward, recipe.epochs, optimiser_for(recipe), name, progress=progress)
    grouped.write_back([j.model for j in jobs])
    share = (time.perf_counter() - t0) / len(jobs)
    return [LoopResult({"loss": [epoch[k] for epoch in res.trace["loss"]]}, share, len(jobs))
            for k in range(len(jobs))]


def sgd_train_many(jobs: Sequence[Job], data: DataBundle, recipe: Recipe, batched: bool = True,
                   progress: bool = False) -> list[LoopResult]:
    """Train every job under ``recipe``; with ``batched``, the ones that can train together do so
    (see the module's notes), the rest one after another. Results follow ``jobs``' order; a
    grouped job's ``seconds`` is its share of the group's wall time."""
    out: list[LoopResult | None] = [None] * len(jobs)
    groups = _groups(jobs) if batched else [[i] for i in range(len(jobs))]
    for group in groups:
        if len(group) == 1:
            out[group[0]] = train_one(jobs[group[0]], data, recipe, progress)
        else:
            for i, res in zip(group, train_group([jobs[i] for i in group], data, recipe, progress),
                              strict=True):
                out[i] = res
    return [r for r in out if r is not None]
