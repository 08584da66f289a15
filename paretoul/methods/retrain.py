"""``retrain``: an independent retrain — from scratch on the retain set with the original recipe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from paretoul.fidelity import Fidelity
from paretoul.methods.base import (
    Method,
    MethodConfig,
    UnlearnContext,
    UnlearnResult,
    register_method,
)
from paretoul.streams import stream_seed

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class RetrainConfig(MethodConfig):
    """No knobs: the recipe is the one the original model was trained with."""


@register_method
class Retrain(Method):
    name = "retrain"
    fidelity = Fidelity(
        'retrain (`retrain.py`)',
        'the retrained model is the oracle',
        'the oracle is trained once and cached; the `retrain` *method* is an independent retrain '
        '(own init and batch order), the noise floor',
        '—')
    summary = "an independent retrain on the retain set (original recipe): the oracle's noise floor"
    notes = ("Trains a fresh model on the retain set with the original's recipe, its init, batch "
             "order and augmentation drawn from streams of its own (`unlearn:retrain:*`), not the "
             "oracle's. Its gap to the oracle is therefore the retrain-to-retrain noise floor: a "
             "method's gap below it is indistinguishable from retraining.")
    Config = RetrainConfig
    space = ()
    reference = True

    def unlearn(self, model: nn.Module, ctx: UnlearnContext, config: RetrainConfig) -> UnlearnResult:
        from paretoul.training import sgd_train

        fresh = ctx.new_model(stream_seed(ctx.seed, "unlearn:retrain:init"))
        res = sgd_train(fresh, ctx.data, ctx.splits.retain, ctx.recipe, ctx.seed, "unlearn:retrain",
                        progress=ctx.progress)
        return UnlearnResult(fresh, res.trace)
