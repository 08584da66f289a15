"""``paretoul front|plot|choose|report``: read a study's database and show, pick, export."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from paretoul.cli._common import add_cache_option, emit
from paretoul.errors import UserError


def _storage(p: argparse.ArgumentParser) -> None:
    p.add_argument("--storage", default=None,
                   help="database URL when not the study's default (or set PARETOUL_STORAGE)")


def _rule_options(p: argparse.ArgumentParser, what: str = "") -> None:
    p.add_argument("--rule", default="knee", metavar="RULE",
                   help="how to choose the operating point among the candidates: knee (the "
                   "default), weights, compromise, constrained, closest-to-retrain or oracle-free"
                   f"{what}")
    p.add_argument("--weights", default=None, metavar="A,B",
                   help="for --rule weights: the importance of each objective, e.g. 0.7,0.3")
    p.add_argument("--p", type=float, default=None,
                   help="for --rule compromise: the norm of the distance to the ideal point "
                   "(default 2; inf for the largest objective)")
    p.add_argument("--max-retain-drop", type=float, default=None, metavar="X",
                   help="for --rule constrained: RA and TA may fall at most X points below the "
                   "original's")
    p.add_argument("--min-test-acc", type=float, default=None, metavar="X",
                   help="for --rule constrained: the least test accuracy (percent) allowed")


def _on(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--on", choices=("search", "validation"), default=None,
                   help=f"which seeds {what} measured on: `search` (the study's own seeds) or "
                   "`validation` (the held-out seeds of `paretoul validate`; the default when the "
                   "study has them)")


def _seed_list(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UserError("seeds", f"{text!r} is not a comma-separated list of integers") from None


def _rule_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The rule options given, checked against the rule before any study is read."""
    from paretoul.pareto.choose import check_rule

    kwargs = {"weights": _weights(args.weights), "p": args.p, "max_retain_drop": args.max_retain_drop,
              "min_test_acc": args.min_test_acc}
    check_rule(args.rule, **kwargs)
    return kwargs


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="Jacobian descent vs fixed weights: each matched comparison")
    p.add_argument("dir", help="the study directory")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    _on(p, "the comparisons are")
    _storage(p)
    p.set_defaults(func=compare)
    p = sub.add_parser("validate", help="re-evaluate the front trials, table rows and chosen point "
                       "on held-out seeds (recorded apart from the search)")
    p.add_argument("dir", help="the study directory")
    p.add_argument("--seeds", default=None, help="comma-separated seeds the search never saw, e.g. "
                   "100,101,102 (they join the study's validation seeds; omit to reuse those)")
    _rule_options(p, "; its choice is validated too")
    p.add_argument("--local", action="store_true", help="run in this process, not as Ray tasks")
    p.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_cache_option(p)
    _storage(p)
    p.set_defaults(func=validate)
    p = sub.add_parser("front", help="fronts and hypervolume per arm, method, searcher, overall")
    p.add_argument("dir", help="the study directory")
    _storage(p)
    p.add_argument("--json", action="store_true", help="print the fronts as JSON")
    p.set_defaults(func=front)
    p = sub.add_parser("plot", help="draw every plot of a study (PNG + SVG)")
    p.add_argument("dir", help="the study directory")
    p.add_argument("--out", default=None, help="the folder to write to (default DIR/report)")
    _storage(p)
    p.set_defaults(func=plot)
    p = sub.add_parser("choose", help="choose an operating point by a rule; optionally export it")
    p.add_argument("dir", help="the study directory")
    _rule_options(p)
    p.add_argument("--export", default=None, metavar="PATH",
                   help="re-run the chosen trial and write its model's weights to PATH (with its "
                   "record in PATH.json)")
    p.add_argument("--seed", type=int, default=None,
                   help="the seed of the exported re-run (default: the study's first seed)")
    add_cache_option(p)  # the exported re-run's original
    p.add_argument("--json", action="store_true", help="print the choice as JSON")
    _on(p, "the chosen point's metrics are (it is always selected on the search seeds)")
    _storage(p)
    p.set_defaults(func=choose_cmd)
    p = sub.add_parser("report", help="Markdown + self-contained HTML report with every plot")
    p.add_argument("dir", help="the study directory")
    p.add_argument("--out", default=None, help="the folder to write to (default DIR/report)")
    _rule_options(p, "; the report highlights its choice")
    _on(p, "the method table, the comparisons and the chosen point are")
    _storage(p)
    p.set_defaults(func=report)


def _study(args: argparse.Namespace) -> Any:
    from paretoul.api import open_study

    return open_study(args.dir, storage=args.storage)


def compare(args: argparse.Namespace) -> int:
    return emit(_study(args).compare(args.on), args.json, comparison_lines)


def validate(args: argparse.Namespace) -> int:
    seeds, rule_options = _seed_list(args.seeds), _rule_kwargs(args)
    result = _study(args).validate(seeds, rule=args.rule, **rule_options, local=args.local,
                                   address=args.address, cache_dir=args.cache_dir, quiet=args.json)
    if args.json:
        json.dump(result, sys.stdout, indent=2, default=float)
        sys.stdout.write("\n")
        return 0
    print(f"validation seeds {', '.join(map(str, result['seeds']))}: {len(result['trials'])} trials, "
          f"{result['evaluations']} evaluations run ({result['failed']} failed), "
          f"{result['already_recorded']} already recorded; {result['wall_s']:.0f} s")
    print(f"`paretoul compare {args.dir}` now measures the fronts on these seeds "
          "(--on search for the search's)")
    return 0


def comparison_lines(result: dict) -> list[str]:
    """The comparisons as text: how the arms were paired, then each comparison's sentence."""
    from paretoul.pareto.sentences import pairing_lines, reference_text

    head, *left_out = pairing_lines(result)
    lines = [head, *(f"  {line}" for line in left_out)]
    for c in result["comparisons"]:
        if c.get("validation_missing"):
            lines.append(f"  (on the search seeds: {len(c['validation_missing'])} of its front "
                         f"trials lack validation figures, e.g. {c['validation_missing'][0]}; "
                         "run `paretoul validate DIR`)")
        lines.append(c["verdict"])
        paired = c.get("paired") or {}
        for pt in paired.get("points", []):
            m = "avg_gap" if "avg_gap" in pt["figures"] else next(iter(pt["figures"]))
            f = pt["figures"][m]
            iv = f["difference_95"]
            ci = f" [95% CI {iv[0]:+.3f}, {iv[1]:+.3f}]" if iv else ""
            win = {"jd": ": JD better", "fixed": ": fixed better"}.get(f["winner"] or "", "")
            lines.append(f"  {pt['label']}: {m} JD {f['jd_mean']:.3f} vs fixed {f['fixed_mean']:.3f}, "
                         f"paired difference {f['difference']:+.3f}{ci}{win}")
        if "normalisation" in c:
            lines.append(f"  HV normalised over this comparison's two sides only (gap objectives "
                         f"from 0); reference point {reference_text(c)}")
    return lines


def front(args: argparse.Namespace) -> int:
    study = _study(args)
    summary = study.fronts()
    summary["comparisons"] = study.compare()
    if args.json:
        json.dump(summary, sys.stdout, indent=2, default=float)
        sys.stdout.write("\n")
        return 0
    print(f"study {summary['study']}: {summary['trials']['complete']} finished, "
          f"{summary['trials']['failed']} failed")
    from paretoul.pareto.sentences import reference_text

    print(f"HV reference point {reference_text(summary)} (1.1 after normalising "
          f"each objective over all finished trials; an HV is at most 1.1 x 1.1 = 1.21)")
    for line in front_lines(summary):
        print(line)
    for line in comparison_lines(summary["comparisons"]):
        print(line)
    return 0


def front_lines(summary: dict[str, Any]) -> list[str]:
    """Fronts and HV per arm, method, searcher and overall, each front point with its trial."""
    names = ", ".join(summary["normalisation"].get("objectives", [])) or "objectives"

    def pts(front: list[dict[str, Any]]) -> str:
        return "; ".join(f"{p['key']} (" + ", ".join(f"{v:.2f}" for v in p["objectives"].values()) + ")"
                         for p in front)

    lines = [f"front points: trial ({names})"]
    for label in ("arms", "methods", "searchers"):
        lines.append(f"{label}:")
        for name, g in summary[label].items():
            lines.append(f"  {name:<22} HV {g['hv']:.3f}  front ({len(g['front'])}): {pts(g['front'])}")
    o = summary["overall"]
    lines.append(f"overall: HV {o['hv']:.3f}  front ({len(o['front'])}): {pts(o['front'])}")
    if summary.get("original"):
        at = ", ".join(f"{k} {v:.2f}" for k, v in summary["original"].items())
        lines.append(f"the untouched original (doing nothing): {at}; it dominates "
                     f"{o['dominated_by_original']} of the overall front's {len(o['front'])} trials")
    return lines


def plot(args: argparse.Namespace) -> int:
    made = _study(args).plot(args.out)
    for name, path in made.items():
        print(f"{name}: {path} (+ .svg)")
    if not made:
        print("no finished trial: nothing to plot")
    return 0


def _weights(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",")]
    except ValueError:
        raise UserError("weights", f"{text!r} is not a comma-separated list of numbers") from None


def choose_cmd(args: argparse.Namespace) -> int:
    from paretoul.pareto.export import export_target

    kwargs = _rule_kwargs(args)
    if args.export:
        export_target(args.export)  # a path that escapes or exists fails before the study is read
    study = _study(args)
    c = study.choose(args.rule, on=args.on, **kwargs)
    out: dict[str, Any] = c.to_dict()
    shown = c.measured or out
    if args.export:
        out["export"] = study.export(c, args.export, seed=args.seed, cache_dir=args.cache_dir)
    if args.json:
        json.dump(out, sys.stdout, indent=2, default=float)
        sys.stdout.write("\n")
        return 0
    r = c.record
    print(f"chosen by {c.rule}: {r.key} ({r.method}) — {c.reason}")
    print(f"params: {json.dumps(r.params)}")
    std, seeds, metrics = shown["metrics_std"], shown["seeds"], shown["metrics"]
    print(f"{shown['note']}")
    if len(seeds) > 1:
        print(f"metrics on the {shown['on']} seeds (mean ± sample std, ddof=1, over seeds {seeds}):")
    else:
        print(f"metrics on the {shown['on']} seed {seeds}:")
    for k in sorted(metrics):
        spread = f" ± {std[k]:.4f}" if k in std and len(seeds) > 1 else ""
        print(f"  {k:<12} {metrics[k]:10.4f}{spread}")
    if args.export:
        e = out["export"]
        diff = ("exactly" if e["max_abs_difference"] == 0 else
                f"to {e['max_abs_difference']:.2g} points (allowed: {e['tolerance']:g})")
        print(f"exported {e['weights']} and {e['sidecar']} (seed {e['seed']}; the re-run's metrics "
              f"match the recorded ones {diff})")
    return 0


def report(args: argparse.Namespace) -> int:
    rule_options = _rule_kwargs(args)
    paths = _study(args).report(args.out, rule=args.rule, on=args.on, **rule_options)
    print(f"report: {paths['html']} and {paths['markdown']}")
    return 0
