"""The fast two-objective Jacobian-descent step and the registry of torchjd aggregators.

Measured shape (tests/README.md#dependency-facts-the-code-relies-on): one
``torch.autograd.grad`` per objective, each walking only its own sub-graph (the forget
and retain batches go through separate forward passes), written into a preallocated 2 x P Jacobian, then the
aggregator on that matrix. This costs about one weighted-sum backward, where
``torchjd.autojac.backward`` on both losses costs 2.7-3x. Memory beyond the two
gradient rows: the aggregated vector (one parameter-sized buffer), whose slices
become the parameters' ``.grad``.

Each step also yields the cosine between the two gradients from their 2 x 2 Gramian (the one
Gramian-based aggregators already need; two dot products otherwise), so the gradient conflict
the paper's argument rests on is measured at no extra backward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from paretoul.errors import UserError

if TYPE_CHECKING:
    import torch
    from torch import nn


def _factories() -> dict[str, tuple[Callable[..., object], str | None]]:
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
PREFERENCE = {
    "upgrad": "each gradient is projected onto the dual cone of both, and the projections are "
              "combined with weights (w, 1 - w): without conflict, exactly w*g_forget + (1-w)*g_retain",
    "dualproj": "the (w, 1 - w)-weighted sum of the gradients is projected onto their dual cone: "
                "without conflict, exactly w*g_forget + (1-w)*g_retain",
    "aligned_mtl": "the gradients are aligned (condition number 1) and combined with weights "
                   "(w, 1 - w), then rescaled",
    "config": "the direction whose cosines with the unit gradients are proportional to (w, 1 - w), "
              "scaled by its projections (ConFIG)",
}
"""The torchjd aggregators that take a preference vector (``pref_vector``), and what it means for
each; the others (mgda, pcgrad, cagrad, nashmtl, imtlg, mean) have no such parameter."""


def make_aggregator(name: str, preference: Sequence[float] | None = None,
                    device: torch.device | str | None = None) -> object:
    """A fresh torchjd aggregator (fresh = reset state for stateful ones such as NashMTL), with
    ``preference`` as its ``pref_vector`` on ``device`` (only for the aggregators in
    :data:`PREFERENCE`).

    A missing optional dependency is a one-line UserError naming the pip extra.
    """
    factories = _factories()
    if name not in factories:
        raise UserError("param.aggregator", f"unknown aggregator {name!r}; allowed: {', '.join(AGGREGATORS)}")
    if preference is not None and name not in PREFERENCE:
        raise UserError("param.w", f"aggregator {name} takes no preference; w needs one of "
                        f"{', '.join(PREFERENCE)} (or leave w unset)")
    factory, extra = factories[name]
    try:
        if preference is None:
            agg = factory()
        else:
            import torch

            agg = factory(pref_vector=torch.tensor(list(preference), dtype=torch.float32,
                                                   device=device))
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
        from torchjd.aggregation import GramianWeightedAggregator

        self._gramian_weighting = (aggregator.gramian_weighting
                                   if isinstance(aggregator, GramianWeightedAggregator) else None)
        self.cosine: torch.Tensor | None = None
        """The last step's cosine between the first two gradients (0 where one is zero), on the
        device: no host sync per step."""

    def _fill_row(self, i: int, loss: torch.Tensor) -> None:
        import torch

        self.set_row(i, torch.autograd.grad(loss, self.params, allow_unused=True))

    def set_row(self, i: int, grads: Sequence[torch.Tensor | None]) -> None:
        """Row ``i`` of the Jacobian: ``grads`` of one objective, one per parameter in order
        (None: zero), as :meth:`step` fills it (a grouped run fills each member's from its slices)."""
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
        for i, loss in enumerate(losses):
            self._fill_row(i, loss)
        return self.apply()

    def apply(self) -> torch.Tensor:
        """The rest of :meth:`step` on the Jacobian as filled: aggregate, set ``p.grad``, return
        the objectives' weights."""
        import torch

        jac = self.jacobian
        gram = jac @ jac.T
        if self._gramian_weighting is not None:
            weights = self._gramian_weighting(gram).to(jac.dtype)
            direction = weights @ jac
        elif self._weighting is not None:
            weights = self._weighting(jac).to(jac.dtype)
            direction = weights @ jac
        else:
            direction = self.aggregator(jac)
            weights = torch.linalg.lstsq(gram, (jac @ direction)[:, None]).solution.squeeze(1)
        self.cosine = gradient_cosine(gram)
        offset = 0
        for p, n in zip(self.params, self.numels, strict=True):
            p.grad = direction[offset : offset + n].view_as(p)
            offset += n
        return weights.detach()


def jacobian_combine(jd: JacobianDescent, keys: Sequence[str],
                     trace: Callable[[torch.Tensor, JacobianDescent], dict[str, torch.Tensor]]
                     ) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """The training loop's ``combine`` for a Jacobian-descent step on the losses named ``keys``
    (in row order), returning ``trace(weights, jd)`` for the trace. It carries ``jd``, ``keys``
    and ``trace`` as attributes, so that a grouped run (:mod:`paretoul.methods.together`) can
    take each member's step from its own rows."""

    def combine(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return trace(jd.step([named[k] for k in keys]), jd)

    combine.jd, combine.keys, combine.trace = jd, tuple(keys), trace  # type: ignore[attr-defined]
    return combine


def gradient_cosine(gram: torch.Tensor) -> torch.Tensor:
    """cos(g_0, g_1) from the Gramian of the gradients; 0 where either gradient is zero."""
    import torch

    norms = gram[0, 0].clamp_min(0) * gram[1, 1].clamp_min(0)
    return torch.where(norms > 0, gram[0, 1] / norms.sqrt().clamp_min(1e-30), torch.zeros_like(norms))


def fixed_weights(weights: Sequence[float], device: torch.device | str | None = None) -> object:
    """torchjd's ``Constant`` aggregator: the direction is ``weights @ J``, the fixed weighting
    run through the same step as Jacobian descent (so the two differ in the weights alone)."""
    import torch
    from torchjd.aggregation import Constant

    return Constant(torch.tensor(list(weights), dtype=torch.float32, device=device))


def conflict_log(cosine: torch.Tensor) -> dict[str, torch.Tensor]:
    """A step's trace entries of gradient conflict: ``grad_cos`` and ``grad_conflict`` (1 when
    cos < 0); the training loop keeps their per-epoch means (:data:`training.loop.EPOCH_MEANS`)."""
    return {"grad_cos": cosine, "grad_conflict": (cosine < 0).float()}


class ConflictProbe:
    """The gradient-conflict figures of a method that does not form the Jacobian itself (an opt-in
    probe): every ``every``-th step, the gradients of ``sign * loss`` for the two named losses (the
    objectives as the method descends them: NegGrad+'s forget objective is -CE), their cosine.
    Costs one extra backward per probed step (two ``autograd.grad`` calls that keep the graph for
    the method's own backward)."""

    def __init__(self, params: Sequence[nn.Parameter], signs: dict[str, float], every: int = 1):
        self.params = [p for p in params if p.requires_grad]
        self.signs, self.every, self.step = signs, max(1, every), 0

    def __call__(self, named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        import torch

        self.step += 1
        if (self.step - 1) % self.every:
            return {}
        rows = []
        for key, sign in self.signs.items():
            grads = torch.autograd.grad(sign * named[key], self.params, retain_graph=True,
                                        allow_unused=True)
            rows.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                                   for g, p in zip(grads, self.params, strict=True)]))
        jac = torch.stack(rows)
        return conflict_log(gradient_cosine(jac @ jac.T))


def probed(combine: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]],
           probe: ConflictProbe | None) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """``combine`` with ``probe``'s figures added to its trace entries (None: ``combine`` itself)."""
    if probe is None:
        return combine

    def both(named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        figures = probe(named)
        return {**combine(named), **figures}

    return both
