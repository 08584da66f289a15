"""A content-addressed cache of model checkpoints, verified by checksum on every read.

An entry's key is the SHA-256 of a canonical JSON description of everything that
determines it (dataset, the exact training indices, model, recipe, seed). Each
checkpoint ``<kind>/<key>.pt`` has a sidecar ``<key>.json`` with its size and
SHA-256; a truncated or altered file is reported in one line and rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from paretoul.fileio import atomic_write

log = logging.getLogger("paretoul")


def default_cache_dir() -> Path:
    """``$PARETOUL_CACHE`` if set, else ``~/.cache/paretoul``."""
    env = os.environ.get("PARETOUL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "paretoul"


def spec_key(spec: dict[str, Any]) -> str:
    """The content address of ``spec`` (canonical JSON, SHA-256, first 24 hex digits)."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _why(e: Exception) -> str:
    """One line on why ``torch.load(weights_only=True)`` refused a file."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    for ln in lines:
        if "Unsupported global" in ln:  # e.g. "GLOBAL io.open was not an allowed global"
            return "not only tensors: " + ln.split("Unsupported global:", 1)[1].split(" was ")[0].strip()
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__


@dataclass
class CacheEntry:
    state: dict[str, torch.Tensor]
    meta: dict[str, Any]
    status: str
    """``hit``, ``miss`` (built now) or ``rebuilt`` (the stored copy was corrupted)."""
    key: str


class ArtefactCache:
    """Checkpoints (state dicts plus a JSON ``meta``) addressed by their spec."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def paths(self, kind: str, spec: dict[str, Any]) -> tuple[Path, Path]:
        key = spec_key(spec)
        return self.root / kind / f"{key}.pt", self.root / kind / f"{key}.json"

    def load(self, kind: str, spec: dict[str, Any]) -> tuple[CacheEntry | None, str]:
        """Return ``(entry, "hit")``, ``(None, "miss")`` or ``(None, "corrupted")``."""
        pt, side = self.paths(kind, spec)
        if not side.exists():
            return None, "miss"
        try:
            info = json.loads(side.read_text())
            blob = pt.read_bytes()
        except (OSError, ValueError) as e:
            log.warning("cache: %s checkpoint %s unreadable (%s); rebuilding", kind, pt, e)
            return None, "corrupted"
        if len(blob) != info.get("bytes") or hashlib.sha256(blob).hexdigest() != info.get("sha256"):
            why = "truncated" if len(blob) < info.get("bytes", 0) else "checksum mismatch"
            log.warning("cache: %s checkpoint %s is corrupted (%s); rebuilding", kind, pt, why)
            return None, "corrupted"
        try:  # weights_only: tensors and plain containers only, never arbitrary objects or code
            state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        except Exception as e:  # pickle.UnpicklingError for a disallowed object, RuntimeError, ...
            log.warning("cache: %s checkpoint %s refused (%s); rebuilding", kind, pt, _why(e))
            return None, "corrupted"
        if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
            log.warning("cache: %s checkpoint %s is not a state dict; rebuilding", kind, pt)
            return None, "corrupted"
        return CacheEntry(state, info.get("meta", {}), "hit", pt.stem), "hit"

    def save(self, kind: str, spec: dict[str, Any], state: dict[str, torch.Tensor],
             meta: dict[str, Any]) -> None:
        pt, side = self.paths(kind, spec)
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in state.items()}, buf)
        blob = buf.getvalue()
        atomic_write(pt, blob)
        info = {
            "kind": kind,
            "spec": spec,
            "bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "meta": meta,
        }
        atomic_write(side, json.dumps(info, indent=1, sort_keys=True, default=str).encode())

    def get_or_build(
        self,
        kind: str,
        spec: dict[str, Any],
        build: Callable[[], tuple[dict[str, torch.Tensor], dict[str, Any]]],
    ) -> CacheEntry:
        """The cached entry for ``spec``, building (and storing) it on a miss or corruption."""
        entry, status = self.load(kind, spec)
        if entry is not None:
            return entry
        state, meta = build()
        self.save(kind, spec, state, meta)
        return CacheEntry(state, meta, "rebuilt" if status == "corrupted" else "miss", spec_key(spec))
