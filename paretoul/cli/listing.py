"""``paretoul methods|metrics|datasets|models``: what is registered, with one line each."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("methods", help="list unlearning methods, or show one's hyperparameters")
    p.add_argument("name", nargs="?", help="a method name")
    p.set_defaults(func=methods)
    for name, fn in (("metrics", metrics), ("datasets", datasets), ("models", models)):
        q = sub.add_parser(name, help=f"list registered {name}")
        q.set_defaults(func=fn)


def methods(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from paretoul.methods import METHODS, get_method

    console = Console()
    if args.name is None:
        for name in METHODS:
            print(f"{name:<13} {get_method(name).summary}")
        return 0
    m = get_method(args.name)
    console.print(f"[bold]{m.name}[/bold]: {m.summary}", highlight=False)
    if m.notes:
        console.print(m.notes, highlight=False, markup=False)
    table = Table("parameter", "default", "search space", "help")
    table.columns[2].overflow = "fold"  # a long choice (empirical-marginal) wraps, never "…"
    space = {p.name: p for p in m.space}
    helps = m.Config.field_help()
    for key, default in m.config().to_dict().items():
        p = space.get(key)
        table.add_row(key, repr(default), p.describe() if p else "(not searched)",
                      (p.help if p and p.help else helps.get(key, "")))
    console.print(table)
    return 0


def metrics(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from paretoul.metrics import METRICS

    table = Table("metric", "goal", "unit", "needs oracle", "meaning")
    for name in METRICS:
        m = METRICS.get(name)
        table.add_row(name, m.direction, m.unit, "yes" if m.needs_oracle else "no", m.summary)
    Console().print(table)
    return 0


def datasets(args: argparse.Namespace) -> int:
    from paretoul.data import DATASETS

    for name in DATASETS:
        print(f"{name:<14} {DATASETS.get(name).summary}")
    return 0


def models(args: argparse.Namespace) -> int:
    from paretoul.models import MODELS

    for name in MODELS:
        print(f"{name:<10} {MODELS.get(name).summary}")
    return 0
