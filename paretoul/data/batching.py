"""On-device minibatches and batched CIFAR augmentation (the airbench approach)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F


def minibatches(
    n: int,
    batch_size: int,
    generator: torch.Generator | None,
    device: torch.device,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[torch.Tensor]:
    """Yield index tensors on ``device`` covering ``range(n)`` in batches."""
    if shuffle:
        order = torch.randperm(n, generator=generator, device=generator.device if generator else "cpu")
        order = order.to(device)
    else:
        order = torch.arange(n, device=device)
    stop = n - (n % batch_size) if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def augment(x: torch.Tensor, generator: torch.Generator | None, pad: int = 4) -> torch.Tensor:
    """Random crop with ``pad``-pixel zero padding and random horizontal flip, per sample.

    Works on a whole (N, C, H, W) batch on its device with one gather.
    """
    n, c, h, w = x.shape
    gdev = generator.device if generator is not None else x.device
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=gdev).to(x.device)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=gdev).to(x.device)
    flip = torch.rand(n, generator=generator, device=gdev).to(x.device) < 0.5
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    cols = torch.where(flip[:, None, None, None], cols.flip(-1), cols)
    out = padded[
        torch.arange(n, device=x.device)[:, None, None, None],
        torch.arange(c, device=x.device)[None, :, None, None],
        rows,
        cols,
    ]
    return out
