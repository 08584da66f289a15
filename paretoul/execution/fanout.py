"""One task fan-out, shared by validation and the audit: start (or join) Ray, run a function
once per argument tuple as Ray tasks of a fixed size with a shared object shipped once, yield
each outcome as it finishes, and shut down what was started — or run the same calls one after
another in this process (``local``)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

from paretoul.errors import UserError
from paretoul.execution import cluster


class TaskPool:
    """Ray tasks of ``cpus`` CPUs and ``gpus`` GPUs each (a context manager).

    ``with TaskPool(address, cpus, gpus) as pool: for i, result, error in pool.map(fn, calls,
    shared): ...`` calls ``fn(*calls[i], shared)``; ``error`` is None, or what stopped the task:
    a :class:`~paretoul.errors.UserError` the task raised, or Ray's error (the worker died, or
    the task raised something else). ``local`` runs the calls here, in order, and raises what
    they raise."""

    def __init__(self, address: str | None, cpus: float, gpus: float = 0.0, *, local: bool = False
                 ) -> None:
        self.address, self.cpus, self.gpus, self.local = address, cpus, gpus, local
        self._started = False
        self._reaper: Any = None

    def __enter__(self) -> TaskPool:
        if not self.local:
            self._started = cluster.init_ray_for(self.address, self.cpus, self.gpus)
            self._reaper = cluster.start_reaper() if self._started else None
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        cluster.shutdown(self._started, self._reaper)
        self._started, self._reaper = False, None

    def slots(self) -> int:
        """How many tasks of this size the cluster runs at once (1 when local; unbounded,
        ``sys.maxsize``, for tasks that ask for nothing)."""
        if self.local:
            return 1
        slots = cluster.slots(self.cpus, self.gpus)
        return max(1, int(slots)) if math.isfinite(slots) else sys.maxsize

    def map(self, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]], shared: Any,
            retries: int = 0) -> Iterator[tuple[int, Any, BaseException | None]]:
        """``(index, result, error)`` per call, in the order they finish; ``retries``: reruns of a
        task whose worker died. Tasks still pending when the caller stops are cancelled."""
        if self.local:
            for i, args in enumerate(calls):
                yield i, fn(*args, shared), None
            return
        import ray

        ref = ray.put(shared)
        task = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=retries)(fn)
        pending = {task.remote(*args, ref): i for i, args in enumerate(calls)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                i = pending.pop(done[0])
                result, error = None, None
                try:
                    result = ray.get(done[0])
                except ray.exceptions.RayError as e:
                    cause = getattr(e, "cause", None)
                    error = cause if isinstance(cause, UserError) else e
                yield i, result, error
        finally:
            for f in pending:
                ray.cancel(f, force=True)


def first_line(e: BaseException) -> str:
    """``Type: first line of the message`` (a Ray error's own text runs over many lines)."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else type(e).__name__}"
