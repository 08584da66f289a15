"""``paretoul methods|metrics|datasets|models``: what is registered, with one line each."""

from __future__ import annotations

import argparse
from typing import Any


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("methods", help="list unlearning methods, or show one's hyperparameters, "
                       "notes and fidelity to its reference code")
    p.add_argument("name", nargs="?", help="a method name")
    p.add_argument("--fidelity-table", action="store_true",
                   help="print the Markdown fidelity table of every method and metric checked "
                   "against reference code (the one in paretoul/README.md)")
    p.set_defaults(func=methods)
    p = sub.add_parser("metrics", help="list metrics, or show one's meaning and fidelity")
    p.add_argument("name", nargs="?", help="a metric name")
    p.set_defaults(func=metrics)
    for name, fn in (("datasets", datasets), ("models", models)):
        q = sub.add_parser(name, help=f"list registered {name}")
        q.set_defaults(func=fn)


def fidelity_markdown() -> str:
    """The fidelity table: every method's record, then every metric's (registry order)."""
    from paretoul.fidelity import fidelity_table
    from paretoul.methods import METHODS, get_method
    from paretoul.metrics import METRICS

    records = [get_method(n).fidelity for n in METHODS] + [METRICS.get(n).fidelity for n in METRICS]
    return fidelity_table([r for r in records if r is not None])


def methods(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from paretoul.methods import METHODS, get_method

    console = Console()
    if getattr(args, "fidelity_table", False):
        print(fidelity_markdown())
        return 0
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
    _print_fidelity(console, m.fidelity)
    return 0


def _print_fidelity(console: Any, fidelity: Any) -> None:
    if fidelity is None:
        console.print("Reference code: not checked against one yet (see paretoul/README.md, "
                      "Fidelity to the reference code).", highlight=False)
        return
    for line in fidelity.lines():
        console.print(line, highlight=False, markup=False)


def metrics(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from paretoul.metrics import METRICS

    if getattr(args, "name", None):
        m = METRICS.get(args.name)
        console = Console()
        console.print(f"[bold]{m.name}[/bold]: {m.summary}", highlight=False)
        console.print(f"goal: {m.direction}; unit: {m.unit}; needs the oracle: "
                      f"{'yes' if m.needs_oracle else 'no'}" + (f"; ideal value {m.ideal:g}"
                                                                if m.ideal is not None else ""),
                      highlight=False)
        _print_fidelity(console, m.fidelity)
        return 0
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
