"""Searchers' sample efficiency on the quickstart setting: hypervolume after N trials.

One study, run for real on Ray Tune: the quickstart's data, forget set, objectives
and RAUL-uniform search space (lr, epochs), one arm per (searcher, searcher seed):
Optuna NSGA-II, TPE, GP, random search and pymoo NSGA-II, each over 3 searcher seeds
with the same budget. HV uses one normalisation for all arms (reference point 1.1).
Prints JSON: per searcher, mean and std over seeds of the HV after n finished trials.

    python analysis/compare_searchers.py [--budget 12] [--data-seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import yaml

from paretoul.pareto.summary import hv_history, study_normalisation
from paretoul.study import LaunchOptions, launch_summary
from paretoul.study.storage.records import load_study_data

# Small budgets: NSGA-II evolves populations of 4 and the model-based samplers leave their
# random start after 4 trials (Optuna's defaults, 50 and 10, would make every Optuna sampler
# identical to random search for the first 10 trials of the same seed).
SEARCHERS = {
    "optuna-nsga2": {"type": "optuna", "sampler": "nsga2", "population": 4},
    "optuna-tpe": {"type": "optuna", "sampler": "tpe", "startup_trials": 4},
    "optuna-gp": {"type": "optuna", "sampler": "gp", "startup_trials": 4},
    "random": {"type": "random"},
    "pymoo-nsga2": {"type": "pymoo", "population": 4},
}


def build_spec(budget: int, data_seeds: list[int], searcher_seeds: list[int]) -> dict:
    quick = yaml.safe_load(Path("studies/quickstart.yaml").read_text())
    base = next(a for a in quick["arms"] if a["name"] == "raul-uniform")
    arms = []
    for name, searcher in SEARCHERS.items():
        for s in searcher_seeds:
            arm = {"name": f"{name}-s{s}", "method": base["method"], "fixed": base["fixed"],
                   "search": base["search"], "space": base["space"],
                   "searcher": {**searcher, "seed": s}}
            if searcher["type"] == "pymoo":
                arm["searcher"]["generations"] = budget // searcher["population"]
            else:
                arm["budget"] = budget
            arms.append(arm)
    return {**{k: quick[k] for k in ("dataset", "model", "forget", "objectives", "resources")},
            "name": "searchers", "seeds": data_seeds, "arms": arms}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=12, help="trials per arm (a multiple of 4)")
    ap.add_argument("--data-seeds", default="0,1,2")
    ap.add_argument("--searcher-seeds", default="0,1,2")
    args = ap.parse_args()
    spec = build_spec(args.budget, [int(s) for s in args.data_seeds.split(",")],
                      [int(s) for s in args.searcher_seeds.split(",")])
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        summary = launch_summary(Path(tmp) / "spec.yaml",
                               LaunchOptions(out=Path(tmp) / "out", quiet=True, cache_dir=Path(tmp) / "c"))
        data = load_study_data(Path(tmp) / "out")
    norm = study_normalisation(data)
    checkpoints = sorted({max(1, args.budget // 3), max(1, 2 * args.budget // 3), args.budget})
    searched = ", ".join(spec["arms"][0]["search"])
    result: dict = {"benchmark": "compare_searchers", "setting": "quickstart data/forget/objectives, "
                    f"raul-uniform space ({searched})", "budget": args.budget,
                    "data_seeds": spec["seeds"], "searcher_seeds": args.searcher_seeds,
                    "study_wall_s": round(summary["wall_s"], 1), "hv_after_n": {}}
    for name in SEARCHERS:
        curves = []
        for arm in (a for a in {r.arm for r in data.records} if a.startswith(name + "-s")):
            h = dict(hv_history([r for r in data.records if r.arm == arm], norm))
            curves.append([h.get(n, h[max(h)] if h else 0.0) for n in checkpoints])
        arr = np.array(curves)
        result["hv_after_n"][name] = {
            str(n): {"mean": round(float(arr[:, j].mean()), 4), "std": round(float(arr[:, j].std()), 4)}
            for j, n in enumerate(checkpoints)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
