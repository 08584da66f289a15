"""A key for caching trained models across test runs: it changes whenever the code that
trains them, loads and splits their data, builds their model or caches them changes (or
torch or numpy does), so any such change retrains and re-asserts."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import torch

import paretoul

PACKAGE = Path(paretoul.__file__).parent
TRAINING_CODE = ("training", "data", "models", "cache.py", "artefacts.py", "device.py", "streams.py",
                 "setting.py", "fileio.py")
"""What determines a cached original or oracle, relative to the package."""
KEEP = 3
"""Keyed folders kept under a root: the newest, so switching between branches stays cached."""


def training_key() -> str:
    h = hashlib.sha256(f"torch {torch.__version__} numpy {np.__version__}".encode())
    for part in TRAINING_CODE:
        path = PACKAGE / part
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(str(f.relative_to(PACKAGE)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def keyed_cache(root: Path) -> Path:
    """``root/models-<key>``, created; older keyed folders beyond the newest :data:`KEEP` go."""
    path = root / f"models-{training_key()}"
    path.mkdir(parents=True, exist_ok=True)
    path.touch()  # its mtime says when it was last used
    old = sorted(root.glob("models-*"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP:]
    for p in old:
        shutil.rmtree(p, ignore_errors=True)
    return path
