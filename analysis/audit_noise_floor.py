"""The audit's scale: its noise floor and what an untouched original scores, at each N.

For each N: ``paretoul audit --method retrain --models N`` (independent retrains audited against
retrains: the best a method can score, short of luck) and ``paretoul audit --untouched --models
N`` (the original, not unlearned at all). The retrains are cached by content, so N = 32 reuses
the 16 trained for N = 16. Prints JSON.

    python analysis/audit_noise_floor.py --dataset digits --models 3,4,8,16,32
    python analysis/audit_noise_floor.py --dataset fashion-mnist --models 4,8
"""

from __future__ import annotations

import argparse
import json
import time

from paretoul.audit.challenge import audit


def _row(r: dict) -> dict:
    return {"forget_quality": round(r["forget_quality"], 4), "final_score": round(r["final_score"], 4),
            "mean_epsilon": round(r["mean_epsilon"], 3), "wall_s": round(r["wall_s"], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default="3,4,8,16,32", help="comma-separated N values")
    ap.add_argument("--local", action="store_true", help="train in this process, not on Ray")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    for n in (int(v) for v in args.models.split(",")):
        common = {"dataset": args.dataset, "model": args.model, "seed": args.seed, "models": n,
                  "local": args.local, "quiet": True}
        floor = audit(method="retrain", **common)
        untouched = audit(untouched=True, **common)
        rows.append({"models": n, "max_epsilon": floor["max_epsilon"],
                     "forget_examples": floor["forget_examples"],
                     "retrain_vs_retrains": _row(floor), "untouched_original": _row(untouched)})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"dataset": args.dataset, "model": args.model, "seed": args.seed,
                      "rows": rows, "wall_s": round(time.perf_counter() - t0, 1)}, indent=1))


if __name__ == "__main__":
    main()
