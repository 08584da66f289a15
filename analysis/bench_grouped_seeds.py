"""Benchmark: one trial's seeds unlearned as one grouped model vs one by one, per method.

For each method that declares ``groups`` (and one that does not, as a control), on the
original and oracle of ``--seeds`` seeds: the seeds one after another
(:func:`paretoul.unlearn_and_evaluate`, single-threaded for an ``mlp`` on CPU) and together
(:func:`paretoul.one_run.unlearn_and_evaluate_many`), at 1 thread and at ``--threads``,
alternated ``--repeats`` times (the best time of each). Checks that every seed's weights and
trace are bit-identical, and prints JSON with the unlearning seconds of both routes, their
ratio, and the evaluation seconds beside them (the part grouping does not touch). A method
without ``groups`` runs seed by seed on both sides: its ratio is the measurement's noise. A
method that diverges at its default parameters on this dataset (ga on Fashion-MNIST) gets a
row saying so and no ratio; ``--param method.key=value`` sets a parameter for one method.

    python analysis/bench_grouped_seeds.py [--dataset digits] [--seeds 5] [--epochs 8]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import torch

import paretoul
from paretoul import UnlearningDiverged, get_method
from paretoul.one_run import unlearn_and_evaluate, unlearn_and_evaluate_many


def _identical(a, b) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa) and a.trace == b.trace


def _measure(arts: list, method: str, params: dict, threads_max: int,
             repeats: int) -> dict[str, Any]:
    """Lone (single-threaded) and grouped unlearning seconds of ``arts``' seeds, the best of
    ``repeats`` alternated runs, and whether every seed came out bit-identical."""
    lone_s, evaluate_s, grouped_s = [], [], {t: [] for t in sorted({1, threads_max})}
    same = True
    for _ in range(repeats):  # alternated, the best of each: machine noise is shared
        torch.set_num_threads(1)
        lone = [unlearn_and_evaluate(a, method, params) for a in arts]
        lone_s.append(sum(r.unlearn_seconds for r in lone))
        evaluate_s.append(sum(r.evaluate_seconds for r in lone))
        for threads in grouped_s:
            torch.set_num_threads(threads)
            grouped = unlearn_and_evaluate_many(arts, method, params, group=True)
            grouped_s[threads].append(sum(r.unlearn_seconds for r in grouped))
            same = same and all(_identical(a, b) for a, b in zip(lone, grouped, strict=True))
    row = {"method": method, "groups": get_method(method).groups,
           "lone_unlearn_s": round(min(lone_s), 3), "evaluate_s": round(min(evaluate_s), 3),
           "bit_identical": same}
    for threads, times in grouped_s.items():
        row[f"grouped_unlearn_s_{threads}_threads"] = round(min(times), 3)
        row[f"ratio_{threads}_threads"] = round(min(lone_s) / min(times), 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--methods", default="ft,ga,rl,neggrad_plus,raul,scalarized,salun")
    ap.add_argument("--cache-dir", default=None, help="checkpoint cache (default: paretoul's)")
    ap.add_argument("--param", action="append", default=[], metavar="METHOD.KEY=VALUE",
                    help="a parameter for one method, e.g. ga.lr=0.0005 (repeatable)")
    args = ap.parse_args()
    extra: dict[str, dict[str, float]] = {}
    for item in args.param:
        name, _, value = item.partition("=")
        method, _, key = name.partition(".")
        extra.setdefault(method, {})[key] = float(value)
    setting = paretoul.Setting(args.dataset, "mlp", "random:0.1", device="cpu")
    arts = paretoul.prepare(setting, list(range(args.seeds)), cache_dir=args.cache_dir)
    rows = []
    for method in args.methods.split(","):
        params = {"epochs": args.epochs, **extra.get(method, {})}
        try:  # a seed that diverges (at the warm-up or later) is a row, not a crash
            unlearn_and_evaluate(arts[0], method, params)  # warm-up: first-call costs are nobody's
            row = _measure(arts, method, params, args.threads, args.repeats)
        except UnlearningDiverged as e:
            row = {"method": method, "params": params, "diverged": str(e)[:200]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"benchmark": "grouped_seeds", "dataset": args.dataset, "seeds": args.seeds,
                      "epochs": args.epochs, "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                      "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
