"""The audit's noise floor: ``retrain`` audited against retrains, per setting, seed and N.

Two sets of models from one distribution score well below 1 under the challenge's metric
(with few models the best threshold attack separates them often enough), and that floor
depends on N. An audit of method ``retrain`` *is* a floor measurement, so every such audit is
kept in the cache (``<cache>/audit-floor/<key>.json``, keyed by the setting, the seed and N);
every other audit reads its floor from there, or measures it when asked.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from paretoul.cache import default_cache_dir, spec_key
from paretoul.fileio import atomic_write

FLOOR_DIR = "audit-floor"

ZERO_MEANS = ("0 means an attack tells the two sides apart on every forget example (N identical "
              "copies, e.g. --untouched, score 0 by the reference's early exit)")
"""What a score of 0 means, said beside every printed score."""


def _path(setting: Any, seed: int, models: int, cache_dir: str | Path | None) -> Path:
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    key = spec_key({"setting": asdict(setting), "seed": seed, "models": models})
    return root / FLOOR_DIR / f"{key}.json"


def floor_of(result: dict[str, Any], source: str) -> dict[str, Any]:
    """The floor's figures from a ``retrain`` audit's result."""
    return {"forget_quality": result["forget_quality"], "final_score": result["final_score"],
            "mean_epsilon": result["mean_epsilon"], "models": result["models"], "source": source}


def store_floor(setting: Any, seed: int, result: dict[str, Any],
                cache_dir: str | Path | None) -> None:
    """Keep a ``retrain`` audit's result as the floor of its setting, seed and N."""
    path = _path(setting, seed, result["models"], cache_dir)
    with contextlib.suppress(OSError):  # a read-only cache: the floor stays in this result
        atomic_write(path, json.dumps(floor_of(result, "cache"), indent=1, default=float))


def cached_floor(setting: Any, seed: int, models: int,
                 cache_dir: str | Path | None) -> dict[str, Any] | None:
    """The stored floor of this setting, seed and N, or None."""
    try:
        floor = json.loads(_path(setting, seed, models, cache_dir).read_text())
    except (OSError, ValueError):
        return None
    return floor if isinstance(floor, dict) and "forget_quality" in floor else None


def floor_line(r: dict[str, Any]) -> str:
    """One line: the floor at the audit's N and how to read the score against it."""
    n = r["models"]
    f = r.get("floor")
    if f is None:
        return (f"noise floor at N = {n}: not measured for this setting (add --floor to measure it, "
                f"{n} more retrains); read the score against it, not against 1; {ZERO_MEANS}")
    where = {"this audit": "this audit is the floor", "cache": "from the cache",
             "measured": "measured now"}.get(f["source"], f["source"])
    return (f"noise floor at N = {n} (retrain vs retrains, {where}): forget quality "
            f"{f['forget_quality']:.4f}, final score {f['final_score']:.4f}; the best an unlearner "
            f"can expect at this N, short of luck; {ZERO_MEANS}")
