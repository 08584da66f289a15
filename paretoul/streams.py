"""Purpose-tagged random streams: every random draw of a run comes from its own stream.

All streams derive from the one user seed and a purpose string (``"split:forget"``,
``"train:oracle:order"``, ``"unlearn:labels"``, ...), so two purposes never share draws:
the oracle's batch order is not the original's, and no unlearning method replays the
oracle's first epoch.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def purpose_tag(purpose: str) -> int:
    """A 32-bit tag for ``purpose`` (the first 4 bytes of its SHA-256, little-endian)."""
    return int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:4], "little")


def numpy_stream(seed: int, purpose: str) -> np.random.Generator:
    """A NumPy generator for ``purpose`` under ``seed``."""
    return np.random.default_rng([seed, purpose_tag(purpose)])


def stream_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for ``purpose`` under ``seed`` (for torch generators and model init)."""
    state = np.random.SeedSequence([seed, purpose_tag(purpose)]).generate_state(2, np.uint32)
    return (int(state[0]) | int(state[1]) << 32) & (2**63 - 1)


def torch_stream(seed: int, purpose: str, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on ``device`` for ``purpose`` under ``seed``."""
    import torch  # here: the NumPy streams (splits) need no torch

    g = torch.Generator(device=device)
    g.manual_seed(stream_seed(seed, purpose))
    return g
