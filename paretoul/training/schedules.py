"""Batch schedules: which minibatches the training loop sees at each step of each epoch.

A step's batches are a dict keyed by role (``"retain"``, ``"forget"``, or ``"train"`` for
training from scratch); a step's update looks at which roles are present. The schedules:

- :class:`OnePass` — each epoch one shuffled pass over one set (FT, l1-sparse, GA, the
  original and the oracle);
- :class:`Paired` — each epoch one pass over the retain set, a forget batch beside every
  retain batch, the forget set cycled and reshuffled whenever it runs out (RAUL, scalarized,
  NegGrad+, MUNBa; RL and SalUn with ``schedule: paired``);
- :class:`Sequential` — each epoch one pass over the forget set, then one pass over the retain
  set (SalUn's CIFAR-10 RL loop); with ``forget_epochs`` the forget pass is made only in the
  leading epochs (SCRUB's max/min alternation).

Every set draws its order from its own generator, and its augmentation from another.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np
import torch

from paretoul.data.base import DataBundle
from paretoul.data.batching import augment as augment_batch
from paretoul.data.batching import minibatches


class Batch(tuple):
    """``(x, y)`` of one minibatch, unpacked as a pair, with ``index``: the train-part indices of
    its samples (for losses whose targets are per sample)."""

    index: torch.Tensor | None

    def __new__(cls, x: torch.Tensor, y: torch.Tensor, index: torch.Tensor | None = None) -> Batch:
        batch = super().__new__(cls, (x, y))
        batch.index = index
        return batch


Batches = dict[str, Batch]


class Source:
    """One index set of the train part, drawn in shuffled minibatches on the data's device."""

    def __init__(self, data: DataBundle, indices: np.ndarray, batch_size: int,
                 order: torch.Generator, augment: torch.Generator | None = None) -> None:
        self.data, self.batch_size = data, batch_size
        self.order, self.augment = order, augment
        self.indices = torch.as_tensor(np.asarray(indices), dtype=torch.long, device=data.device)

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def steps(self) -> int:
        """Minibatches in one pass."""
        return math.ceil(len(self) / self.batch_size)

    def index_batches(self) -> Iterator[torch.Tensor]:
        """The train-part indices of each minibatch of one shuffled pass."""
        for b in minibatches(len(self), self.batch_size, self.order, self.data.device):
            yield self.indices[b]

    def one_pass(self) -> Iterator[Batch]:
        """One shuffled pass; augmented (random crop and flip) when the source has a stream for it."""
        for sel in self.index_batches():
            x = self.data.train_x[sel]
            if self.augment is not None:
                x = augment_batch(x, self.augment)
            yield Batch(x, self.data.train_y[sel], sel)

    def cycle(self) -> Iterator[Batch]:
        """Endless passes, each reshuffled."""
        while True:
            yield from self.one_pass()


class BatchSchedule(ABC):
    """Yields the batches of every step of one epoch."""

    name: str

    @abstractmethod
    def steps(self, epoch: int) -> int:
        """Steps in ``epoch``."""

    @abstractmethod
    def epoch(self, epoch: int) -> Iterator[Batches]:
        """The batches of each step of ``epoch`` (0-based), in order."""


class OnePass(BatchSchedule):
    """Each epoch one pass over one set, its batches under ``role``."""

    def __init__(self, source: Source, role: str) -> None:
        self.source, self.role, self.name = source, role, role

    def steps(self, epoch: int) -> int:
        return self.source.steps

    def epoch(self, epoch: int) -> Iterator[Batches]:
        for batch in self.source.one_pass():
            yield {self.role: batch}


class Paired(BatchSchedule):
    """Each epoch one pass over retain, with the next forget batch beside every retain batch."""

    name = "paired"

    def __init__(self, forget: Source, retain: Source) -> None:
        self.retain = retain
        self._forget = forget.cycle()

    def steps(self, epoch: int) -> int:
        return self.retain.steps

    def epoch(self, epoch: int) -> Iterator[Batches]:
        for batch in self.retain.one_pass():
            yield {"forget": next(self._forget), "retain": batch}


class Sequential(BatchSchedule):
    """Each epoch a pass over forget (only in the first ``forget_epochs`` epochs, if given), then
    a pass over retain; every step holds one batch."""

    name = "sequential"

    def __init__(self, forget: Source, retain: Source, forget_epochs: int | None = None) -> None:
        self.forget, self.retain, self.forget_epochs = forget, retain, forget_epochs

    def _forgets(self, epoch: int) -> bool:
        return self.forget_epochs is None or epoch < self.forget_epochs

    def steps(self, epoch: int) -> int:
        return self.retain.steps + (self.forget.steps if self._forgets(epoch) else 0)

    def epoch(self, epoch: int) -> Iterator[Batches]:
        if self._forgets(epoch):
            for batch in self.forget.one_pass():
                yield {"forget": batch}
        for batch in self.retain.one_pass():
            yield {"retain": batch}
