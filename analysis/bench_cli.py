"""Benchmark: how fast the CLI starts, against importing torch, in one run.

Each command runs in a fresh process (the installed ``paretoul`` entry point), 5 times; the
median wall time is compared with the median of ``python -c "import torch"`` on the same
machine in the same run. Prints JSON with each command's seconds and its ratio to torch.
Target (issue 14): ``paretoul --help`` at most 0.35x.

    python analysis/bench_cli.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [["--help"], ["run", "--help"], ["study", "launch", "--help"], ["methods"], ["metrics"],
            ["datasets"], ["models"]]


def _median_s(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    exe = shutil.which("paretoul") or str(Path(sys.executable).with_name("paretoul"))
    _median_s([sys.executable, "-c", "import torch"], 1)  # warm the page cache first
    torch_s = _median_s([sys.executable, "-c", "import torch"], args.repeat)
    python_s = _median_s([sys.executable, "-c", "pass"], args.repeat)
    rows = []
    for cmd in COMMANDS:
        s = _median_s([exe, *cmd], args.repeat)
        rows.append({"command": "paretoul " + " ".join(cmd), "s": round(s, 3),
                     "ratio_to_import_torch": round(s / torch_s, 3)})
    print(json.dumps({"import_torch_s": round(torch_s, 3), "python_startup_s": round(python_s, 3),
                      "repeat": args.repeat, "commands": rows}, indent=1))


if __name__ == "__main__":
    main()
