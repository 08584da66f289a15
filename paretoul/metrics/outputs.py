"""Batched inference: each model's softmax outputs on the whole train and test parts, once."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from paretoul.data.base import DataBundle


@dataclass(frozen=True)
class Outputs:
    """Softmax probabilities (float32, on the CPU) of one model, row i = sample i."""

    train: torch.Tensor
    test: torch.Tensor


@torch.no_grad()
def _probs(model: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    chunks = []
    for start in range(0, len(x), batch_size):  # fp32 even on CUDA: metrics need exact confidences
        logits = model(x[start : start + batch_size])
        chunks.append(torch.softmax(logits.float(), dim=1))
    return torch.cat(chunks).cpu()


def predict(model: nn.Module, data: DataBundle, batch_size: int = 1024) -> Outputs:
    """Softmax outputs of ``model`` (in eval mode) on every train and test sample."""
    was_training = model.training
    model.eval()
    try:
        return Outputs(_probs(model, data.train_x, batch_size), _probs(model, data.test_x, batch_size))
    finally:
        model.train(was_training)
