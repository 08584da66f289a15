"""``paretoul audit``: the unlearning-challenge forget score of one configuration or one trial."""

from __future__ import annotations

import argparse
import json
from typing import Any

from paretoul.cli._common import emit
from paretoul.cli.run import add_run_options
from paretoul.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit", help="forget quality as the NeurIPS 2023 unlearning challenge scored it",
        description="Train N retrained and N unlearned models and score how well an attack "
        "tells them apart on each forget example (google-deepmind/unlearning_evaluation's "
        "metric). Give a study directory and --trial ARM#K to audit a trial of a study "
        "(default: its chosen point by --rule knee), or the options of `paretoul run`.")
    p.add_argument("dir", nargs="?", default=None, help="a study directory (else: run options)")
    p.add_argument("--trial", default=None, help="with DIR: the trial to audit, e.g. raul-uniform#3")
    p.add_argument("--models", type=int, default=8, help="models per side (default 8; at least 3)")
    p.add_argument("--untouched", action="store_true",
                   help="without DIR: the unlearned side is the original, unchanged (what doing "
                   "nothing scores; --method is not used)")
    p.add_argument("--floor", action="store_true",
                   help="also measure the noise floor at this N (retrain audited against "
                   "retrains, N more retrains) when the cache holds none for this setting")
    p.add_argument("--local", action="store_true", help="train in this process, not as Ray tasks")
    p.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
    p.add_argument("--cpus", type=float, default=1.0, help="CPUs per training task (Ray)")
    p.add_argument("--gpus", type=float, default=0.0, help="GPU share per training task (Ray)")
    p.add_argument("--storage", default=None, help="with DIR: its database URL when not the default")
    add_run_options(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    options = {"models": args.models, "local": args.local, "address": args.address,
               "cpus": args.cpus, "gpus": args.gpus, "quiet": args.quiet or args.json,
               "floor": args.floor}
    if args.dir is None:
        if args.trial is not None:
            raise UserError("trial", "--trial needs a study directory: paretoul audit DIR --trial ARM#K")
        from paretoul.audit.challenge import audit
        from paretoul.cli.run import config_from

        result = audit(config_from(args), untouched=args.untouched, **options)
    else:
        if args.untouched:
            raise UserError("untouched", "--untouched audits the original of a run setting; give "
                            "run options (--dataset ...), not a study directory")
        given = _run_options_given(args)
        if given:
            raise UserError(given[0], f"--{given[0].replace('_', '-')} sets up a run without a study "
                            "directory; with one, the trial's own setting is audited (--trial ARM#K)")
        from paretoul.api import open_study

        result = open_study(args.dir, storage=args.storage).audit(args.trial, **options,
                                                                  cache_dir=args.cache_dir)
    return emit(result, args.json, summary_lines)


def _run_options_given(args: argparse.Namespace) -> list[str]:
    """The run options (``paretoul run``'s, but ``--cache-dir``) set to other than their default."""
    plain = argparse.ArgumentParser(add_help=False)
    add_run_options(plain)
    defaults = vars(plain.parse_args([]))
    return [k for k, v in defaults.items() if k != "cache_dir" and getattr(args, k) != v]


def summary_lines(r: dict[str, Any]) -> list[str]:
    """An audit in a few lines: the score, its parts, the ε histogram and the noise floor."""
    from paretoul.audit.floor import floor_line

    c = r["config"]
    what = ("the original, untouched" if r.get("untouched") else r.get("trial")
            or f"{c['method']} {json.dumps(c['params'])}")
    hist = ", ".join(f"[{h['from']:g}, {h['from'] + 0.5:g}): {h['examples']}" for h in r["histogram"][:-1])
    return [
        f"audit of {what} on {c['dataset']} / {c['model']} / forget {c['forget']} / seed {c['seed']}: "
        f"{r['models']} unlearned vs {r['models']} retrained models, {r['forget_examples']} forget examples",
        f"forget quality {r['forget_quality']:.4f}, final score {r['final_score']:.4f} (x RA ratio "
        f"{r['ratios']['ra']:.4f} x TA ratio {r['ratios']['ta']:.4f}); mean epsilon {r['mean_epsilon']:.3f}",
        f"epsilon histogram: {hist}; at or past {r['max_epsilon']:g} (0 points): "
        f"{r['histogram'][-1]['examples']}",
        floor_line(r),
        f"{r['runner']}: {r['wall_s']:.0f} s" + (f"; stored in {r['stored']}" if r.get("stored") else ""),
    ]
