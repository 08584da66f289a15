"""Ctrl-C (SIGINT) and SIGTERM during a study: stop cleanly, say so, leave it resumable.

The first signal while trials run asks Ray Tune to stop (through the study's stopper): the
trials in flight are stopped and recorded as interrupted — run again by ``resume`` — and the
launcher raises :class:`~paretoul.errors.StudyInterrupted`. A signal before the trials start,
or a second one, raises it at once; trials left running then are reaped by ``resume``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from paretoul.errors import StudyInterrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupt:
    """Installs the handlers for the ``with`` block (main thread only; elsewhere a no-op)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.searcher: Any = None
        """Set while trials run: the :class:`~paretoul.study.search.tune.StudySearcher`."""
        self.signum: int | None = None
        self._saved: dict[int, Any] = {}
        self._env: str | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None or self.searcher is None:
            self.signum = self.signum or signum
            raise StudyInterrupted(self.signum)
        self.signum = signum
        self.searcher.interrupted = signum
        if not self.quiet and sys.stderr.isatty():  # scripts see one line: the final one
            sys.stderr.write("paretoul: stopping the trials in flight (they will be run again); "
                             "signal again to stop at once\n")

    def arm(self) -> None:
        """(Re)install the handlers: ``ray.init`` replaces SIGTERM's with one of its own that
        prints a stack trace and exits 1."""
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                previous = signal.signal(s, self._handle)
                self._saved.setdefault(s, previous)

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            self.arm()
            # Ray Tune would replace our SIGINT handler with its own during fit()
            self._env = os.environ.get("TUNE_DISABLE_SIGINT_HANDLER")
            os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._saved.items():
            signal.signal(s, handler)
        if self._saved:
            if self._env is None:
                os.environ.pop("TUNE_DISABLE_SIGINT_HANDLER", None)
            else:
                os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = self._env
        self._saved.clear()
