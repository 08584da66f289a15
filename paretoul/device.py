"""Choosing the compute device (cuda > cpu)."""

from __future__ import annotations

import torch

from paretoul.errors import UserError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else CPU; an explicit name is checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UserError("device", f"unknown device {name!r}; allowed: auto, cpu, cuda, cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError("device", f"{name!r} requested but no CUDA device is available; use cpu or auto")
    if dev.type not in ("cpu", "cuda"):
        raise UserError("device", f"unsupported device {name!r}; allowed: auto, cpu, cuda, cuda:N")
    return dev

