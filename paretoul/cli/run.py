"""``paretoul run``: one unlearning run with a readable table or a JSON record."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any

from paretoul.cli._common import add_cache_option, parse_assignments
from paretoul.coerce import coerce
from paretoul.training.recipe import Recipe  # torch-free: the parser lists its fields

if TYPE_CHECKING:
    from rich.console import Console

    from paretoul.one_run import RunConfig


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="one unlearning run (original, oracle and unlearned model, evaluated)",
        description="Build or reuse the original model and the retrain oracle, run one "
        "unlearning method, evaluate all three, print a table and write a JSON record.",
    )
    add_run_options(p)
    p.add_argument("--out", default=None, help="run directory (default runs/run-<time>-...)")
    p.add_argument("--save-model", action="store_true", help="also write model.pt to the run dir")
    p.add_argument("--json", action="store_true", help="print the JSON record instead of a table")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=main)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options that define one setting and method (``run`` and ``audit`` share them)."""
    p.add_argument("--dataset", default="digits", help="dataset name (default: digits, embedded)")
    p.add_argument("--model", default=None, help="model name (default: mlp for digits, "
                   "resnet18 for CIFAR)")
    p.add_argument("--forget", default="random:0.1",
                   help="random:<fraction>, random:<count> or class:<id>[,<id>...]")
    p.add_argument("--method", default="ft", help="unlearning method (see `paretoul methods`)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="method hyperparameter, repeatable")
    p.add_argument("--seed", type=int, default=0, help="seed of splits, training and unlearning")
    p.add_argument("--reference-fraction", type=float, default=0.1,
                   help="share of each class held out as the reference set (default 0.1)")
    p.add_argument("--recipe", action="append", metavar="NAME=VALUE",
                   help="override the training recipe of original and oracle, e.g. epochs=50; "
                   f"fields: {', '.join(Recipe().to_dict())}")
    p.add_argument("--data-root", default="data", help="folder holding dataset files (CIFAR)")
    p.add_argument("--download", action="store_true", help="download missing dataset files")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the MD5 check of CIFAR files (for private copies in the same format)")
    p.add_argument("--device", default="auto", help="auto (cuda if present, else cpu), cpu, cuda")
    add_cache_option(p)


def config_from(args: argparse.Namespace) -> RunConfig:
    """The :class:`RunConfig` the options of :func:`add_run_options` give."""
    from paretoul.data import DATASETS
    from paretoul.one_run import RunConfig

    return RunConfig(
        dataset=args.dataset, model=args.model or DATASETS.get(args.dataset).default_model,
        forget=args.forget, method=args.method, params=parse_assignments(args.param, "param"),
        seed=args.seed, reference_fraction=args.reference_fraction,
        recipe=_recipe_overrides(args.recipe), data_root=args.data_root, download=args.download,
        device=args.device, cache_dir=args.cache_dir,
        dataset_options={"verify": False} if args.no_verify else {},
    )


def _recipe_overrides(items: list[str] | None) -> dict[str, Any]:
    raw = parse_assignments(items, "recipe")
    types = {k: type(v) for k, v in Recipe().to_dict().items()}
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k not in types:
            Recipe().with_overrides(**{k: v})  # raises the one-line error naming the field
        if k == "milestones":
            out[k] = tuple(float(t) for t in v.split(","))
        elif k == "augment":
            out[k] = coerce("recipe.augment", bool, v)
        else:
            out[k] = coerce(f"recipe.{k}", types[k], v)
    return out


def _fmt(v: float | None, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}"


def render_table(record: dict[str, Any], console: Console) -> None:
    from rich.table import Table

    m = record["metrics"]
    cfg = record["config"]
    table = Table(title=f"{cfg['dataset']} / {cfg['model']} / forget {cfg['forget']} / "
                  f"seed {cfg['seed']}")
    for col in ("model", "UA", "RA", "TA", "MIA", "Avg. Gap", "JS forget", "time s"):
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    rows = (("original", m["original"]), ("oracle", m["oracle"]),
            (record["method"]["name"], m["unlearned"]))
    for name, row in rows:
        table.add_row(name, *(_fmt(row.get(k)) for k in ("ua", "ra", "ta", "mia", "avg_gap")),
                      _fmt(row.get("js_forget"), 4), _fmt(row.get("rte")))
    console.print(table)
    s = record["splits"]["sizes"]
    cache = record["cache"]
    console.print(
        f"splits: forget {s['forget']}, retain {s['retain']}, reference {s['reference']}, "
        f"test {s['test']}"
    )
    console.print(
        f"cache: original {cache['original']['status']}, oracle {cache['oracle']['status']}; "
        f"total {record['timings']['total_s']:.1f} s"
    )
    u = m["unlearned"]
    console.print(f"objectives: forget_gap {_fmt(u.get('forget_gap'))}, retain_gap "
                  f"{_fmt(u.get('retain_gap'))}; oracle-free ref_gap {_fmt(u.get('ref_gap'))}")
    console.print(f"record: {record['out']}/record.json")


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from paretoul.one_run import run

    cfg = config_from(args)
    progress = not args.quiet and not args.json
    record = run(cfg, out=args.out, progress=progress, save_model=args.save_model)
    if args.json:
        json.dump(record, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render_table(record, Console())
    return 0
