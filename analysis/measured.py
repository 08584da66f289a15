"""Regenerate the Measured table of ``analysis/README.md``: run each benchmark here, read its
JSON, and print one Markdown row per figure with the machine, the date and the commit.

Each benchmark runs in its own process (``--only cli,run`` picks some; the whole set takes
about 20-30 min on 2 cores). Prints the rows' JSON first, then the Markdown table, so the
table in ``analysis/README.md`` is pasted from here and every figure in it has a command.

    python analysis/measured.py [--only cli,run,quickstart,jd_step,ensemble,grouped_seeds,mia]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def _json_tail(text: str) -> dict[str, Any]:
    """The last JSON object a benchmark printed (they print progress rows before it)."""
    start = text.rfind("\n{")
    return json.loads(text[start + 1:] if start >= 0 else text)


class BenchFailed(RuntimeError):
    """A benchmark exited non-zero; its message is the last line of its stderr."""


def _bench(script: str, *args: str) -> dict[str, Any]:
    p = subprocess.run([PY, str(ROOT / "analysis" / script), *args], capture_output=True,
                       text=True, cwd=ROOT)
    if p.returncode:
        tail = [ln for ln in p.stderr.splitlines() if ln.strip()] or ["no stderr"]
        raise BenchFailed(f"{script} exited {p.returncode}: {tail[-1][:300]}")
    return _json_tail(p.stdout)


def _run_all(names: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every named benchmark's rows; one that fails is reported and the others still run (each
    benchmark's JSON line is printed to stderr as it finishes, so a long run loses nothing)."""
    rows, failed = [], []
    for n in names:
        try:
            got = BENCHES[n]()
        except (BenchFailed, subprocess.SubprocessError, KeyError, ValueError) as e:
            failed.append(f"{n}: {e}")
            print(f"measured: {n} failed: {e}", file=sys.stderr, flush=True)
            continue
        print(json.dumps({"bench": n, "rows": got}, default=str), file=sys.stderr, flush=True)
        rows += got
    return rows, failed


def _row(what: str, figure: str, command: str, data: Any) -> dict[str, Any]:
    return {"what": what, "figure": figure, "command": command, "data": data}


def cli() -> list[dict[str, Any]]:
    r = _bench("bench_cli.py")
    rows = {x["command"]: x for x in r["commands"]}
    helps = rows["paretoul --help"]
    spec = rows["paretoul study launch MISSPELT.yaml (exit 2)"]
    return [_row("CLI start-up against `python -c \"import torch\"`, fresh processes, median of 5",
                 f"`paretoul --help` **{helps['ratio_to_import_torch']}x** ({helps['s']} s vs "
                 f"{r['import_torch_s']} s)", "python analysis/bench_cli.py", r),
            _row("a spec with a misspelt key: `paretoul study launch` fails with a suggestion",
                 f"**{spec['s']} s** (exit 2; {spec['ratio_to_import_torch']}x importing torch)",
                 "python analysis/bench_cli.py", spec)]


def run() -> list[dict[str, Any]]:
    exe = shutil.which("paretoul") or str(Path(PY).with_name("paretoul"))
    with tempfile.TemporaryDirectory() as tmp:
        walls = []
        for k in range(2):  # cold cache (original and oracle trained), then warm
            t0 = time.perf_counter()
            subprocess.run([exe, "run", "--quiet", "--cache-dir", f"{tmp}/cache", "--out",
                            f"{tmp}/run{k}"], check=True, capture_output=True, cwd=tmp)
            walls.append(round(time.perf_counter() - t0, 2))
    command = "paretoul run --quiet --cache-dir DIR --out OUT (twice)"
    return [_row("`paretoul run` on digits (ft), cold cache: trains the original and the oracle",
                 f"{walls[0]} s wall", command, walls[0]),
            _row("the same, warm cache", f"{walls[1]} s wall ({walls[1] / walls[0]:.2f}x the cold run)",
                 command, walls[1])]


def quickstart() -> list[dict[str, Any]]:
    r = _bench("bench_quickstart.py")
    cold, warm = r["cold_cache"], r["warm_cache"]
    rows = [_row(f"quickstart study ({cold['trials']} trials, {cold['seed_runs']} seed-runs), fresh "
                 "process, cold cache", f"**{cold['command_wall_s']} s** command wall, "
                 f"{cold['study_wall_s']} s study wall, efficiency {cold['orchestration_efficiency']}; "
                 f"warm cache {warm['command_wall_s']} s", "python analysis/bench_quickstart.py", r)]
    if "fidelity_wall_ratio" in r:
        rows.append(_row("quickstart with its tuned arms halving over seeds vs every configuration "
                         "on every seed (warm cache)", f"seed-runs **{r['fidelity_seed_run_ratio']}x** "
                         f"fewer, study wall {r['fidelity_wall_ratio']}x",
                         "python analysis/bench_quickstart.py", r))
    return rows


def jd_step() -> list[dict[str, Any]]:
    r = _bench("bench_jd_step.py")
    return [_row("one RAUL step (UPGrad) vs one weighted-sum step, ResNet-18, CIFAR shapes, 64 + 64, "
                 "CPU, median of 15", f"**{r['ratio_raul_to_weighted_sum']}x**; with a preference "
                 f"{r['ratio_raul_pref_to_weighted_sum']}x; `scalarized` "
                 f"{r['ratio_scalarized_to_weighted_sum']}x; torchjd's autojac "
                 f"{r.get('ratio_torchjd_autojac_to_weighted_sum', '-')}x",
                 "python analysis/bench_jd_step.py", r)]


def ensemble() -> list[dict[str, Any]]:
    r = _bench("bench_ensemble.py")
    parts = [f"{x['dataset']} **{x['ratio']}x**" for x in r["runs"] if "ratio" in x]
    return [_row("32 `mlp` retrains grouped vs one by one", ", ".join(parts),
                 "python analysis/bench_ensemble.py", r)]


def grouped_seeds() -> list[dict[str, Any]]:
    # ga's default lr diverges on Fashion-MNIST at 2 epochs (paretoul/README.md says so)
    r = _bench("bench_grouped_seeds.py", "--dataset", "fashion-mnist", "--seeds", "5",
               "--epochs", "2", "--threads", "2", "--param", "ga.lr=0.0003")
    parts = [f"{x['method']} {x.get('ratio_2_threads', x.get('ratio_1_threads'))}x"
             if "diverged" not in x else f"{x['method']} diverged" for x in r["rows"]]
    return [_row("one trial's 5 seeds unlearned grouped vs one by one, Fashion-MNIST, 2 epochs, "
                 "2 threads, ga at lr 3e-4 (salun: no grouping, the noise)", ", ".join(parts),
                 "python analysis/bench_grouped_seeds.py --dataset fashion-mnist --seeds 5 "
                 "--epochs 2 --threads 2 --param ga.lr=0.0003", r)]


def mia() -> list[dict[str, Any]]:
    r = _bench("bench_mia.py")
    parts = [f"{x['model']} **{x['paretoul']['speed_up']}x** (equal: {x['paretoul']['equal']})"
             for x in r["rows"]]
    return [_row("MIA-Efficacy of one Fashion-MNIST model, SalUn's route vs paretoul's",
                 ", ".join(parts), "python analysis/bench_mia.py", r)]


BENCHES: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "cli": cli, "run": run, "quickstart": quickstart, "jd_step": jd_step, "ensemble": ensemble,
    "grouped_seeds": grouped_seeds, "mia": mia}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated: " + ", ".join(BENCHES))
    args = ap.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        raise SystemExit(f"--only: unknown {unknown}; allowed: {', '.join(BENCHES)}")
    machine = f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()}"
    date, commit = time.strftime("%Y-%m-%d"), _commit()
    rows, failed = _run_all(names)
    print(json.dumps({"machine": machine, "date": date, "commit": commit, "rows": rows,
                      "failed": failed}, indent=1, default=str))
    print()
    print("| what | figure | command |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['what']} ({machine}, {date}, `{commit}`) | {r['figure']} | `{r['command']}` |")
    if failed:
        raise SystemExit(f"measured: {len(failed)} benchmark(s) failed: " + "; ".join(failed))


if __name__ == "__main__":
    main()
