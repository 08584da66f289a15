"""The fast two-objective Jacobian-descent step and the registry of torchjd aggregators.

Measured shape (PROTOCOL.md section 7): one ``torch.autograd.grad`` per objective,
each walking only its own sub-graph (the forget and retain batches go through
separate forward passes), written into a preallocated 2 x P Jacobian, then the
aggregator on that matrix. This costs about one weighted-sum backward, where
``torchjd.autojac.backward`` on both losses costs 2.7-3x. Memory beyond the two
gradient rows: the aggregated vector (one parameter-sized buffer), whose slices
become the parameters' ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from paretoul.errors import UserError

if TYPE_CHECKING:
    import torch
    from torch import nn


def _factories() -> dict[str, tuple[Callable[[], object], str | None]]:
    from torchjd import aggregation as A

    return {
        "upgrad": (A.UPGrad, "quadprog-projector"),
        "mgda": (A.MGDA, None),
        "dualproj": (A.DualProj, "quadprog-projector"),
        "pcgrad": (A.PCGrad, None),
        "cagrad": (lambda: A.CAGrad(c=0.5), "cagrad"),
        "nashmtl": (lambda: A.NashMTL(n_tasks=2), "nash-mtl"),
        "imtlg": (A.IMTLG, None),
        "aligned_mtl": (A.AlignedMTL, None),
        "config": (A.ConFIG, None),
        "mean": (A.Mean, None),
    }


AGGREGATORS = ("upgrad", "mgda", "dualproj", "pcgrad", "cagrad", "nashmtl", "imtlg",
               "aligned_mtl", "config", "mean")


def make_aggregator(name: str) -> object:
    """A fresh torchjd aggregator (fresh = reset state for stateful ones such as NashMTL).

    A missing optional dependency is a one-line UserError naming the pip extra.
    """
    factories = _factories()
    if name not in factories:
        raise UserError("param.aggregator", f"unknown aggregator {name!r}; allowed: {', '.join(AGGREGATORS)}")
    factory, extra = factories[name]
    try:
        agg = factory()
    except ImportError:
        hint = f"pip install 'torchjd[{extra}]'" if extra else "see torchjd's installation notes"
        raise UserError("param.aggregator", f"{name} needs optional dependencies that are not "
                        f"installed; install them with: {hint}") from None
    reset = getattr(agg, "reset", None)
    if callable(reset):
        reset()
    return agg


def _weighting_of(aggregator: object) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The matrix -> weights map of an aggregator whose output is ``weights @ matrix``, else None.

    Only torchjd's ``WeightedAggregator`` family guarantees that shape (ConFIG, for one,
    has a ``weighting`` attribute that is not its combination rule); objects of our own
    declare it with ``combines_rows = True``.
    """
    from torchjd.aggregation import WeightedAggregator

    if isinstance(aggregator, WeightedAggregator) or getattr(aggregator, "combines_rows", False):
        return aggregator.weighting  # type: ignore[attr-defined]
    return None


class JacobianDescent:
    """Combine the gradients of several losses with a torchjd aggregator into ``p.grad``."""

    def __init__(self, params: Sequence[nn.Parameter], aggregator: object, n_objectives: int = 2):
        import torch

        self.params = [p for p in params if p.requires_grad]
        self.aggregator = aggregator
        self.numels = [p.numel() for p in self.params]
        first = self.params[0]
        self.jacobian = torch.empty(n_objectives, sum(self.numels), device=first.device,
                                    dtype=first.dtype)
        self._weighting = _weighting_of(aggregator)

    def _fill_row(self, i: int, loss: torch.Tensor) -> None:
        import torch

        grads = torch.autograd.grad(loss, self.params, allow_unused=True)
        row = self.jacobian[i]
        offset = 0
        for g, n in zip(grads, self.numels, strict=True):
            if g is None:
                row[offset : offset + n].zero_()
            else:
                row[offset : offset + n].copy_(g.reshape(-1))
            offset += n

    def step(self, losses: Sequence[torch.Tensor]) -> torch.Tensor:
        """Set ``p.grad`` to the aggregated direction; return the weights of the objectives.

        For aggregators that are not weighted combinations (e.g. ConFIG) the weights are
        the least-squares coefficients of the direction in the span of the gradients.
        """
        import torch

        for i, loss in enumerate(losses):
            self._fill_row(i, loss)
        jac = self.jacobian
        if self._weighting is not None:
            weights = self._weighting(jac)
            direction = weights @ jac
        else:
            direction = self.aggregator(jac)
            gram = jac @ jac.T
            weights = torch.linalg.lstsq(gram, (jac @ direction)[:, None]).solution.squeeze(1)
        offset = 0
        for p, n in zip(self.params, self.numels, strict=True):
            p.grad = direction[offset : offset + n].view_as(p)
            offset += n
        return weights.detach()
