"""A documented learning-rate probe: where each method's lr does something and where it breaks.

On one seed that is neither a search seed nor a validation seed of the shipped studies (default
50; the studies search on 0-4 or 0-7 and validate on 100-104), each method runs at a log grid
of learning rates spanning its declared search range widened ten times each way, at the epochs
a study fixes. Each run is classified:

- ``diverged``: the loss turned NaN/inf, or RA fell more than ``--collapse`` points below the
  original's (the model collapsed);
- ``no-op``: UA and MIA-Efficacy both within ``--still`` points of the original's (the forget
  side did not move);
- ``moves`` otherwise.

The suggested range is from the smallest lr that moves to the largest lr that moves, on the
grid; a study should search inside it. Prints one JSON line per run, then the summary (per
method: the grid's classes and the suggested ``space: {lr: {low, high}}``).

    python analysis/lr_probe.py [--dataset fashion-mnist] [--seed 50] [--epochs 2]
                                [--methods ft,ga,...] [--points 9] [--lr-range LOW,HIGH]

``--lr-range`` replaces the widened declared range by an explicit one, to look closely at a
narrow window (e.g. scrub's, where one step of the wide grid goes from no-op to diverged).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

import paretoul
from paretoul import METHODS, UnlearningDiverged, get_method
from paretoul.one_run import unlearn_and_evaluate


def _lr_range(method: str) -> tuple[float, float]:
    for p in get_method(method).space:
        if p.name == "lr":
            return float(p.low), float(p.high)  # type: ignore[attr-defined]
    raise SystemExit(f"{method} has no lr in its search space")


def classify(metrics: dict[str, float] | None, original: dict[str, float], collapse: float,
             still: float) -> str:
    """``diverged``, ``no-op`` or ``moves`` (see the module's notes)."""
    if metrics is None or not all(math.isfinite(v) for v in metrics.values()):
        return "diverged"
    if metrics["ra"] < original["ra"] - collapse:
        return "diverged"
    if abs(metrics["ua"] - original["ua"]) < still and abs(metrics["mia"] - original["mia"]) < still:
        return "no-op"
    return "moves"


def _parse_range(ap: argparse.ArgumentParser, text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        ap.error(f"--lr-range: {text!r} is not LOW,HIGH (two numbers)")
    if not 0 < low < high:
        ap.error(f"--lr-range: {text!r} needs 0 < LOW < HIGH")
    return low, high


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--forget", default="random:0.1")
    ap.add_argument("--seed", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--points", type=int, default=9)
    ap.add_argument("--collapse", type=float, default=20.0, help="RA points below the original's")
    ap.add_argument("--still", type=float, default=0.5, help="UA and MIA points of the original's")
    ap.add_argument("--methods", default=",".join(n for n in METHODS.names() if n != "retrain"))
    ap.add_argument("--lr-range", default=None, metavar="LOW,HIGH",
                    help="probe this lr range instead of the declared one widened 10x each way")
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()
    window = _parse_range(ap, args.lr_range)
    setting = paretoul.Setting(args.dataset, "mlp", args.forget, device="cpu")
    art = paretoul.prepare(setting, [args.seed], cache_dir=args.cache_dir)[0]
    original = paretoul.evaluate(art.original_context)
    summary = {}
    for method in args.methods.split(","):
        low, high = _lr_range(method)
        grid = np.geomspace(*(window or (low / 10, high * 10)), args.points)
        rows = []
        for lr in grid:
            t0 = time.perf_counter()
            try:
                metrics = unlearn_and_evaluate(art, method, {"lr": float(lr), "epochs": args.epochs}).metrics
            except UnlearningDiverged:
                metrics = None
            kind = classify(metrics, original, args.collapse, args.still)
            row = {"method": method, "lr": float(lr), "class": kind, "s": round(time.perf_counter() - t0, 1),
                   **({k: round(metrics[k], 3) for k in ("ua", "ra", "ta", "mia", "avg_gap")}
                      if metrics else {})}
            rows.append(row)
            print(json.dumps(row), flush=True)
        moving = [r["lr"] for r in rows if r["class"] == "moves"]
        suggested = ({"low": float(f"{min(moving):.3g}"), "high": float(f"{max(moving):.3g}")}
                     if moving else None)
        summary[method] = {"declared": [low, high], "suggested": suggested,
                           "grid": {f"{r['lr']:.3g}": r["class"] for r in rows}}
    print(json.dumps({"probe": "lr", "dataset": args.dataset, "forget": args.forget,
                      "seed": args.seed, "epochs": args.epochs,
                      "lr_range": list(window) if window else "declared, widened 10x each way",
                      "original": {k: round(original[k], 3) for k in ("ua", "ra", "mia")},
                      "methods": summary, "date": time.strftime("%Y-%m-%d")}, indent=1))


if __name__ == "__main__":
    main()
