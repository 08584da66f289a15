"""One method on several seeds at once: each seed's ``unlearn`` runs as written, up to its
training-loop call; the calls then run as one grouped model where they can
(:mod:`paretoul.training.lockstep`), and each ``unlearn`` goes on with its own result.

Each member's code runs in a thread of its own, but never two at a time: a member runs until
it reaches its training loop (or returns), then the next one starts, so the threads are only a
way to pause a method mid-call. Methods need no change; what cannot be grouped (a hook after
each step, a combine rule without a grouped form, another model) runs member by member, as a
lone run does.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from paretoul.methods.base import UnlearnResult
    from paretoul.training import LoopResult
    from paretoul.training.lockstep import FitCall

_DEFER: contextvars.ContextVar[Callable[[FitCall], LoopResult] | None] = contextvars.ContextVar(
    "paretoul_defer_fit", default=None)


def run_fit(call: FitCall) -> LoopResult:
    """Run ``call`` now, or (inside :func:`unlearn_together`) hand it to the group."""
    defer = _DEFER.get()
    return call.run() if defer is None else defer(call)


THREAD_NAME = "paretoul-seed-member"
"""The name of every member's thread (a test checks none outlives its group)."""


class _Aborted(BaseException):
    """Ends a paused member whose group stopped (an error elsewhere): not a method error."""


class _Member:
    """One member's ``unlearn``, run in a thread that pauses at each training-loop call."""

    def __init__(self, target: Callable[[], UnlearnResult]) -> None:
        self.call: FitCall | None = None
        self.result: UnlearnResult | None = None
        self.error: BaseException | None = None
        self.done = False
        self._answer: LoopResult | None = None
        self._abort = False
        self._paused = threading.Event()
        self._go = threading.Event()
        context = contextvars.copy_context()  # the caller's time limit holds in the member too
        self._thread = threading.Thread(target=context.run, args=(self._main, target), daemon=True,
                                        name=THREAD_NAME)

    def _main(self, target: Callable[[], UnlearnResult]) -> None:
        _DEFER.set(self._pause)
        try:
            self.result = target()
        except _Aborted:
            pass
        except BaseException as e:  # handed to the caller, which raises it
            self.error = e
        finally:
            self.done = True
            self._paused.set()

    def _pause(self, call: FitCall) -> LoopResult:
        self.call = call
        self._paused.set()
        self._go.wait()
        self._go.clear()
        if self._abort:
            raise _Aborted
        answer, self._answer = self._answer, None
        assert answer is not None
        return answer

    def start(self) -> None:
        """Run until the first training-loop call or the end."""
        self._thread.start()
        self._wait()

    def _wait(self) -> None:
        self._paused.wait()
        self._paused.clear()

    def give(self, result: LoopResult) -> None:
        """Answer the paused call; run until the next call or the end."""
        self.call, self._answer = None, result
        self._go.set()
        self._wait()

    def stop(self) -> None:
        """End the thread (a paused member raises :class:`_Aborted` inside its method)."""
        if self._thread.ident is None:  # never started: an earlier member failed
            return
        if not self.done:
            self._abort = True
            self._go.set()
        self._thread.join()


def unlearn_together(unlearns: Sequence[Callable[[], UnlearnResult]], model: nn.Module
                     ) -> tuple[list[UnlearnResult], str | None]:
    """Run every ``unlearn`` (one per seed, in order, each on a model like ``model``) with their
    training loops grouped where they can be; return their results and why a loop was not
    grouped (None: every one was). An error of any member is raised (the first member's first).

    The members' own code (before, between and after their loops) runs single-threaded for a
    groupable model, as a lone run does (:func:`~paretoul.training.grouping.canonical_threads`);
    a grouped loop runs at the process's thread count (its bits do not depend on it)."""
    from paretoul.training.grouping import canonical_threads
    from paretoul.training.lockstep import run_calls

    members = [_Member(u) for u in unlearns]
    why: str | None = None
    try:
        for m in members:
            with canonical_threads(model):
                m.start()
            if m.error is not None:
                raise m.error
        while True:
            waiting = [m for m in members if not m.done]
            if not waiting:
                break
            results, not_grouped = run_calls([m.call for m in waiting])  # type: ignore[misc]
            why = why or not_grouped
            for m, r in zip(waiting, results, strict=True):
                with canonical_threads(model):
                    m.give(r)
                if m.error is not None:
                    raise m.error
    finally:
        for m in members:
            m.stop()
    return [m.result for m in members], why  # type: ignore[misc]
