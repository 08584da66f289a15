"""Shared CLI plumbing: a parser whose errors are one line with exit code 2, and log setup."""

from __future__ import annotations

import argparse
import difflib
import logging
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from paretoul.errors import UserError
from paretoul.redact import MaskSecrets


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2 (no usage dump), with
    the prefix every other error has (``paretoul: error:``) and where to read the options."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"paretoul: error: {message}{_choice_hint(message)} (see `{self.prog} --help`)\n")

    def unrecognized(self, extra: list[str]) -> NoReturn:
        """Unknown arguments, reported by the (sub)command they were given to, with the
        closest option it has."""
        hints = [f"{x!r}: did you mean {m[0]}?" for x in extra if x.startswith("-")
                 for m in [difflib.get_close_matches(x.split("=")[0], self._option_string_actions,
                                                     n=1, cutoff=0.6)] if m]
        self.exit(2, f"paretoul: error: unrecognized arguments: {' '.join(extra)}"
                  f"{'; ' + '; '.join(hints) if hints else ''} (see `{self.prog} --help`)\n")


def _choice_hint(message: str) -> str:
    """``; did you mean 'methods'?`` for argparse's "invalid choice: 'metods' (choose from ...)"."""
    m = re.search(r"invalid choice: '(.*?)' \(choose from (.*)\)", message)
    if not m:
        return ""
    close = difflib.get_close_matches(m.group(1), re.findall(r"'([^']*)'", m.group(2)), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def deepest_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Parser:
    """The parser of the (sub)command ``args`` came to, e.g. ``paretoul study launch``'s."""
    while parser._subparsers is not None:
        action = next(a for a in parser._subparsers._group_actions
                      if isinstance(a, argparse._SubParsersAction))
        chosen = getattr(args, action.dest, None)
        if chosen not in action.choices:
            break
        parser = action.choices[chosen]
    return parser  # type: ignore[return-value]


def add_cache_option(p: argparse.ArgumentParser) -> None:
    """``--cache-dir``, the same for every command that trains or reuses originals and oracles."""
    p.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="checkpoint cache of originals and oracles (default $PARETOUL_CACHE or "
                   "~/.cache/paretoul)")


def parse_assignments(items: list[str] | None, field: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; a malformed item is a UserError."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise UserError(field, f"malformed {item!r}; expected NAME=VALUE")
        if key in out:
            raise UserError(field, f"{key!r} given twice")
        out[key] = value.strip()
    return out


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"paretoul: {record.levelname.lower()}: {record.getMessage()}"


def setup_logging(quiet: bool = False) -> None:
    """Warnings (e.g. a rebuilt cache entry) go to stderr as one line each."""
    log = logging.getLogger("paretoul")
    if not any(getattr(h, "_paretoul", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_OneLine())
        handler.addFilter(MaskSecrets())  # also records of child loggers (``paretoul.*``)
        handler._paretoul = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def emit(result: Any, as_json: bool, lines: Callable[[Any], list[str]]) -> int:
    """Print ``result`` as indented JSON, or as the text ``lines(result)`` gives; exit code 0."""
    import json
    import sys

    if as_json:
        json.dump(result, sys.stdout, indent=2, default=float)
        sys.stdout.write("\n")
    else:
        for line in lines(result):
            print(line)
    return 0
