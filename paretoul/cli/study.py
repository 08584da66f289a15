"""``paretoul study launch|status|resume|schema``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from paretoul.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console


def add_parser(sub: argparse._SubParsersAction) -> None:
    from paretoul.cli._common import Parser, add_cache_option

    p = sub.add_parser("study", help="launch, watch and resume studies (Ray Tune + Optuna + pymoo)")
    ssub = p.add_subparsers(dest="study_command", required=True, parser_class=Parser)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
        q.add_argument("--storage", default=None,
                       help="database URL (default sqlite:///<study dir>/study.db)")
        q.add_argument("--max-concurrent", type=int, default=None, help="trials in flight at most")
        add_cache_option(q)
        q.add_argument("--quiet", action="store_true", help="no progress lines")

    q = ssub.add_parser("launch", help="run a study spec")
    q.add_argument("spec", help="study spec (YAML), e.g. studies/quickstart.yaml")
    q.add_argument("--out", default=None, help="study directory (default runs/study-<name>)")
    common(q)
    q.set_defaults(func=launch)
    q = ssub.add_parser("resume", help="continue an interrupted study")
    q.add_argument("dir", help="the study directory")
    common(q)
    q.set_defaults(func=resume)
    q = ssub.add_parser("status", help="summarise a running or finished study")
    q.add_argument("dir", help="the study directory")
    q.add_argument("--storage", default=None, help="database URL if not the study's default")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=status)
    q = ssub.add_parser("schema", help="print the study spec's JSON Schema (for editors and validators)")
    q.set_defaults(func=schema)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    if args.max_concurrent is not None and args.max_concurrent < 1:
        raise UserError("max-concurrent", f"{args.max_concurrent} must be >= 1")
    return {"address": args.address, "storage": args.storage, "max_concurrent": args.max_concurrent,
            "quiet": args.quiet, "cache_dir": args.cache_dir}


def _console() -> Console:
    from rich.console import Console

    c = Console()
    return Console(width=max(c.width, 130)) if not c.is_terminal else c


def render_status(summary: dict[str, Any], console: Console) -> None:
    from rich import box
    from rich.table import Table

    objectives = list(summary["objectives"])
    arms = summary["arms"]
    wide = console.width >= 100  # on a narrow terminal: only the columns that carry news
    shown = {"searcher": wide, "failed": wide or any(a["failed"] for a in arms),
             "in flight": any(a["running"] for a in arms)}
    table = Table(title=f"study {summary['study']}  ({summary['storage']})", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    columns = [c for c in ("arm", "method", "searcher", "done", "failed", "in flight", "front", "pick",
                           *objectives) if shown.get(c, True)]
    for col in columns:
        table.add_column(col, justify="left" if col in ("arm", "method", "searcher") else "right",
                         no_wrap=True)  # whole names and counts, always
    for a in summary["arms"]:
        pick = a.get("pick")
        done = f"{a['finished'] + a['failed']}/{a['budget']}"
        if a["budget"] < a.get("spec_budget", a["budget"]):
            done += "*"  # why: the line under the table
        cells = {"arm": a["arm"], "method": a["method"], "searcher": a["searcher"], "done": done,
                 "failed": str(a["failed"]), "in flight": str(a["running"]),
                 "front": str(pick["front"]) if pick else "-",
                 "pick": f"#{pick['trial']}" if pick else "-",
                 **({o: f"{v:.2f}" for o, v in zip(objectives, pick["values"], strict=True)}
                    if pick else {o: "-" for o in objectives})}
        table.add_row(*(cells[c] for c in columns))
    console.print(table)
    console.print("front = the arm's non-dominated finished trials; pick = the one of them nearest "
                  "the ideal point (objectives normalised over the arm's trials)")
    retired = sum(a.get("retired", 0) for a in summary["arms"])
    if retired:
        console.print(f"{retired} proposal(s) repeated a parameter set already tried and were drawn "
                      "anew (not run; no budget used)")
    short = [a for a in summary["arms"] if a["budget"] < a.get("spec_budget", a["budget"])]
    for a in short:
        console.print(f"* {a['arm']} ends after {a['budget']} of its {a['spec_budget']} trials: its "
                      "searcher proposed no point it had not tried (a grid exhausted, or pymoo "
                      "repeating evaluated points)")
    halving = [a for a in summary["arms"] if "rungs" in a]
    for a in halving:
        rungs = "; ".join(f"{r['seeds']} seed(s): {r['finished']} finished"
                          + (f", {r['stopped']} stopped there" if r["stopped"] else "")
                          + (f", {r['waiting']} waiting for the rung to complete"
                             if r.get("waiting") else "")
                          + (f", {r['failed']} failed" if r["failed"] else "")
                          + (f", {r['running']} in flight" if r["running"] else "")
                          for r in a["rungs"])
        console.print(f"{a['arm']} (fidelity): {rungs}; {a['due']} due for more seeds")
    if halving and (sr := summary.get("seed_runs")):
        console.print(f"seed-runs: {sr['run']} ({sr['all_seeds']} with every configuration on "
                      "every seed)")
    runs = summary.get("runs") or []
    if runs:
        r = runs[-1]
        eff = r["trial_compute_s"] / max(r["slots"], 1e-9) / max(r["wall_s"], 1e-9)
        how = " (interrupted)" if r.get("stopped_by_signal") else ""
        console.print(f"last run{how}: {r['trials']} trials in {r['wall_s']:.1f} s on {r['slots']:g} slots "
                      f"(orchestration efficiency {eff:.2f})")
    console.print("complete" if summary["complete"] else "not complete: `paretoul study resume "
                  f"{summary['dir']}` continues it")


def _finished(summary: dict[str, Any], quiet: bool) -> int:
    if summary.get("already_complete"):
        print(f"study {summary['study']} in {summary['dir']} is already complete; nothing to do")
        return 0
    if not quiet:
        render_status(summary, _console())
        print(f"database: {summary['storage']}")
        if summary.get("report"):
            print(f"report: {summary['report']}")
        _print_headline(summary.get("headline"), summary.get("dir", "DIR"))
    return 0


def _print_headline(headline: dict[str, Any] | None, directory: str) -> None:
    """The launch's last lines: each comparison's verdict and the chosen point."""
    if not headline:
        return
    for verdict in headline.get("verdicts", []):
        print(f"verdict: {verdict}")
    c = headline.get("chosen")
    if c:
        objectives = ", ".join(f"{k} {v:.3g}" for k, v in c["objectives"].items())
        print(f"chosen ({headline['rule']}): {c['trial']} ({c['method']}; {objectives}): {c['reason']}; "
              f"`paretoul choose {directory} --export model.pt` writes it")


def launch(args: argparse.Namespace) -> int:
    from paretoul.study.spec import load_spec

    load_spec(args.spec)  # a spec mistake is reported before the heavy imports (torch, Ray)
    from paretoul.api import launch_study

    study = launch_study(args.spec, getattr(args, "out", None), **_options(args))
    return _finished(study.summary or {}, args.quiet)


def resume(args: argparse.Namespace) -> int:
    from paretoul.api import resume_study

    return _finished(resume_study(args.dir, **_options(args)).summary or {}, args.quiet)


def schema(args: argparse.Namespace) -> int:
    from paretoul.study.spec import spec_json_schema

    json.dump(spec_json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def status(args: argparse.Namespace) -> int:
    from paretoul.api import open_study

    summary = open_study(args.dir, storage=args.storage).status()
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render_status(summary, _console())
    return 0
