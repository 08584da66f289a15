"""The ``paretoul`` command: parse, call the Python API, print.

Exit codes: 0 ok; 1 a run failed (a method diverged) or a study stopped (database
lost, disk full; ``study resume`` completes it); 2 bad input
(one line naming the field); 128 + the signal when interrupted (130 Ctrl-C/SIGINT,
143 SIGTERM; a study says how far it got and how to resume it).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import paretoul
from paretoul.cli import analysis, audit, listing, run, study
from paretoul.cli._common import Parser, deepest_parser, setup_logging
from paretoul.errors import (
    ReportFailed,
    StudyInterrupted,
    StudyStopped,
    UnlearningDiverged,
    UserError,
)


class _Version(argparse.Action):
    """``--version``: the installed version, read only when asked for."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"paretoul {paretoul.__version__}")
        parser.exit()


def build_parser() -> Parser:
    parser = Parser(prog="paretoul", description="Map and choose the forget-vs-retain "
                    "trade-off of machine-unlearning methods.")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run.add_parser(sub)
    listing.add_parsers(sub)
    study.add_parser(sub)
    analysis.add_parsers(sub)
    audit.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        deepest_parser(parser, args).unrecognized(extra)
    setup_logging(getattr(args, "quiet", False))
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"paretoul: error: {e.cli_text()}", file=sys.stderr)
        return 2
    except ReportFailed as e:
        print(f"paretoul: error: {e}; `paretoul report {e.study.directory}` retries", file=sys.stderr)
        return 1
    except UnlearningDiverged as e:
        print(f"paretoul: error: run failed: {e}", file=sys.stderr)
        return 1
    except StudyStopped as e:
        print(f"paretoul: error: study stopped: {e}", file=sys.stderr)
        return 1
    except StudyInterrupted as e:
        print(f"paretoul: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # e.g. `paretoul study status DIR --json | head`
        return 0
    except KeyboardInterrupt:
        print("paretoul: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
