"""Shared CLI plumbing: a parser whose errors are one line with exit code 2, and log setup."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from paretoul.errors import UserError
from paretoul.redact import MaskSecrets


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


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
