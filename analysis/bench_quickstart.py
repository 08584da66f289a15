"""Benchmark: wall time and orchestration efficiency of the quickstart study.

Runs ``paretoul study launch studies/quickstart.yaml`` as a new user would (a fresh
process, a fresh Ray), first with an empty checkpoint cache (original and oracle
trained: the README's main job on a fresh machine), then again with the cache warm.

Orchestration efficiency = sum of the trials' own compute time / concurrent slots /
study wall time (from the launch to the last trial, Ray start-up included). Seed-runs = method
runs on one seed (each with its evaluation), against those the same configurations would take on
every seed. When the spec has arms with ``fidelity``, a third run (warm cache) drops it from
every arm, so that the two designs' wall times and seed-runs compare in one run.
Prints JSON.

    python analysis/bench_quickstart.py [--spec studies/quickstart.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(spec: str, cache: Path, out: Path) -> dict:
    exe = Path(sys.executable).with_name("paretoul")
    env = {**os.environ, "PARETOUL_CACHE": str(cache)}
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "study", "launch", spec, "--out", str(out), "--quiet"],
                          env=env, capture_output=True, text=True)
    command_wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"study failed: {proc.stderr.strip()}")
    run = json.loads((out / "study.json").read_text())["runs"][-1]
    from paretoul.study import study_status

    seed_runs = study_status(out)["seed_runs"]
    return {
        "seed_runs": seed_runs["run"], "seed_runs_all_seeds": seed_runs["all_seeds"],
        "command_wall_s": round(command_wall, 1),
        "study_wall_s": round(run["wall_s"], 1),
        "trials": run["trials"],
        "trial_compute_s": round(run["trial_compute_s"], 1),
        "slots": run["slots"],
        "orchestration_efficiency": round(run["trial_compute_s"] / run["slots"] / run["wall_s"], 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="studies/quickstart.yaml")
    args = ap.parse_args()
    import yaml

    spec = yaml.safe_load(Path(args.spec).read_text())
    out: dict = {"benchmark": "quickstart", "spec": args.spec, "cpus": os.cpu_count(),
                 "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        out["cold_cache"] = one_run(args.spec, cache, Path(tmp) / "cold")
        out["warm_cache"] = warm = one_run(args.spec, cache, Path(tmp) / "warm")
        if any(a.get("fidelity") for a in spec["arms"]):
            plain = Path(tmp) / "no_fidelity.yaml"
            plain.write_text(yaml.safe_dump({**spec, "arms": [
                {k: v for k, v in a.items() if k != "fidelity"} for a in spec["arms"]]}))
            out["warm_cache_without_fidelity"] = base = one_run(str(plain), cache, Path(tmp) / "plain")
            out["fidelity_wall_ratio"] = round(base["study_wall_s"] / warm["study_wall_s"], 2)
            out["fidelity_seed_run_ratio"] = round(base["seed_runs"] / warm["seed_runs"], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
