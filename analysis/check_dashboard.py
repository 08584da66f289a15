"""Check a study against a real optuna-dashboard: every arm's study shows the objectives' names
(not "Objective 0 / 1") and carries no launcher heartbeat attribute.

optuna-dashboard is not a paretoul dependency: install it anywhere (``pip install
optuna-dashboard``) and pass its executable. The dashboard is started on 127.0.0.1 on a free
port, asked through its JSON API, and stopped. Prints JSON; exit 1 when a check fails.

    python analysis/check_dashboard.py runs/study-quickstart --dashboard /tmp/dash/bin/optuna-dashboard
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study_dir")
    ap.add_argument("--dashboard", default="optuna-dashboard", help="the optuna-dashboard executable")
    args = ap.parse_args()
    d = Path(args.study_dir)
    spec = yaml.safe_load((d / "spec.yaml").read_text())
    objectives = spec.get("objectives") or [{"metric": "forget_gap"}, {"metric": "retain_gap"}]
    want = [o["metric"] for o in objectives]
    port = _free_port()
    proc = subprocess.Popen([args.dashboard, f"sqlite:///{(d / 'study.db').resolve()}", "--host",
                             "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api"
        for _ in range(60):
            try:
                summaries = _get(f"{base}/studies")["study_summaries"]
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("optuna-dashboard did not answer")
        rows = []
        for s in summaries:
            detail = _get(f"{base}/studies/{s['study_id']}")
            rows.append({"study": s["study_name"], "objective_names": detail.get("objective_names"),
                         "heartbeat_attrs": [a["key"] for a in s["user_attrs"]
                                             if a["key"].startswith("alive:")]})
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ok = bool(rows) and all(r["objective_names"] == want and not r["heartbeat_attrs"] for r in rows)
    print(json.dumps({"ok": ok, "expected_names": want, "studies": rows}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
