"""Benchmark: how fast the CLI starts, against importing torch, in one run.

Each command runs in a fresh process (the installed ``paretoul`` entry point), 5 times; the
median wall time is compared with the median of ``python -c "import torch"`` on the same
machine in the same run. Prints JSON with each command's seconds and its ratio to torch.
Target (issue 14): ``paretoul --help`` at most 0.35x. ``study status`` runs on a study
directory made here (the quickstart spec and an empty results database: it reads and
validates the spec, opens the database and prints every arm); ``study launch`` of a spec with
a misspelt key must fail (exit 2, with a suggestion) in under 0.5 s.

    python analysis/bench_cli.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = [["--help"], ["run", "--help"], ["study", "launch", "--help"], ["methods"], ["metrics"],
            ["methods", "raul"], ["datasets"], ["models"]]


def _median_s(argv: list[str], repeat: int, code: int = 0) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        times.append(time.perf_counter() - t0)
        if rc != code:
            raise SystemExit(f"{argv}: exit code {rc}, expected {code}")
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
    tmp = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    shutil.copy(ROOT / "studies" / "quickstart.yaml", tmp / "spec.yaml")
    subprocess.run([sys.executable, "-c", "import optuna, sys; optuna.create_study("
                    "storage=f'sqlite:///{sys.argv[1]}/study.db', study_name='empty')", str(tmp)],
                   check=True, capture_output=True)
    for cmd in [*COMMANDS, ["study", "status", str(tmp)]]:
        s = _median_s([exe, *cmd], args.repeat)
        shown = " ".join(cmd).replace(str(tmp), "DIR")
        rows.append({"command": f"paretoul {shown}", "s": round(s, 3),
                     "ratio_to_import_torch": round(s / torch_s, 3)})
    # a misspelt spec key: the error (with its suggestion) comes before torch or Ray is imported
    (tmp / "misspelt.yaml").write_text((tmp / "spec.yaml").read_text().replace("budget:", "budgett:", 1))
    s = _median_s([exe, "study", "launch", str(tmp / "misspelt.yaml")], args.repeat, code=2)
    rows.append({"command": "paretoul study launch MISSPELT.yaml (exit 2)", "s": round(s, 3),
                 "ratio_to_import_torch": round(s / torch_s, 3)})
    shutil.rmtree(tmp)
    print(json.dumps({"import_torch_s": round(torch_s, 3), "python_startup_s": round(python_s, 3),
                      "repeat": args.repeat, "commands": rows}, indent=1))


if __name__ == "__main__":
    main()
