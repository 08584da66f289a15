"""Index sets of the random-forgetting protocol (paretoul/README.md#protocol-what-the-numbers-mean).

From the official train part a per-class **reference** set is held out first;
the rest is the **train part** the original model sees. The **forget** set is
drawn from the train part and **retain** is what is left. Everything derives
from one seed; the reference split does not depend on the forget spec, so one
original model serves every forget spec of a seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paretoul.errors import UserError
from paretoul.streams import numpy_stream


@dataclass(frozen=True)
class ForgetSpec:
    """``random:<fraction>``, ``random:<count>`` or ``class:<id>[,<id>...]``."""

    kind: str  # "fraction" | "count" | "class"
    fraction: float = 0.0
    count: int = 0
    classes: tuple[int, ...] = ()

    @staticmethod
    def parse(text: str) -> ForgetSpec:
        field = "forget"
        allowed = "random:<fraction in (0,1)>, random:<count>, class:<id>[,<id>...]"
        head, sep, tail = str(text).strip().partition(":")
        head, tail = head.strip(), tail.strip()  # "random:\n1.5" would print a line break
        if not sep or not tail:
            raise UserError(field, f"malformed forget spec {text!r}; allowed: {allowed}")
        if head == "random":
            try:
                count = int(tail)
            except ValueError:
                count = None
            if count is not None:
                if count <= 0:
                    raise UserError(field, f"forget count {count} must be positive")
                return ForgetSpec("count", count=count)
            try:
                frac = float(tail.rstrip("%")) / (100.0 if tail.endswith("%") else 1.0)
            except ValueError:
                raise UserError(field, f"malformed forget spec {text!r}; allowed: {allowed}") from None
            if not 0.0 < frac < 1.0:
                raise UserError(field, f"forget fraction {tail} is outside (0, 1)")
            return ForgetSpec("fraction", fraction=frac)
        if head == "class":
            try:
                ids = tuple(sorted({int(t) for t in tail.split(",")}))
            except ValueError:
                raise UserError(field, f"malformed class list {tail!r}; allowed: {allowed}") from None
            return ForgetSpec("class", classes=ids)
        raise UserError(field, f"unknown forget kind {head!r} in {text!r}; allowed: {allowed}")

    def __str__(self) -> str:
        if self.kind == "fraction":
            return f"random:{self.fraction:g}"
        if self.kind == "count":
            return f"random:{self.count}"
        return "class:" + ",".join(map(str, self.classes))


@dataclass(frozen=True)
class Splits:
    """Sorted, disjoint index arrays into the official train part (``test`` into the test part)."""

    reference: np.ndarray
    forget: np.ndarray
    retain: np.ndarray
    test: np.ndarray
    seed: int
    forget_spec: str
    reference_fraction: float

    @property
    def train(self) -> np.ndarray:
        """The train part the original model is trained on: forget ∪ retain."""
        return np.union1d(self.forget, self.retain)

    @property
    def forgotten_classes(self) -> tuple[int, ...]:
        """The classes forgotten whole (``class:<ids>``); () for random forgetting."""
        spec = ForgetSpec.parse(self.forget_spec)
        return spec.classes if spec.kind == "class" else ()

    def sizes(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("reference", "forget", "retain", "test")}

    def checksum(self) -> str:
        """SHA-256 over all index sets: two runs on the same data share it iff the splits match."""
        h = hashlib.sha256()
        for name in ("reference", "forget", "retain", "test"):
            h.update(name.encode())
            h.update(np.ascontiguousarray(getattr(self, name), dtype=np.int64).tobytes())
        return h.hexdigest()

    def check(self, n_train: int, n_test: int) -> None:
        """Raise if the sets overlap, leave out samples or fall outside the data."""
        sets = [self.reference, self.forget, self.retain]
        total = sum(len(s) for s in sets)
        union = np.unique(np.concatenate(sets))
        if len(union) != total:
            raise AssertionError("reference, forget and retain index sets overlap")
        if total != n_train or (total and (union.min() < 0 or union.max() >= n_train)):
            raise AssertionError("reference, forget and retain do not partition the train part")
        if len(self.test) != n_test:
            raise AssertionError("test indices do not cover the test part")

    def save(self, path: str | Path) -> None:
        np.savez(
            path,
            reference=self.reference,
            forget=self.forget,
            retain=self.retain,
            test=self.test,
            seed=np.int64(self.seed),
            forget_spec=np.str_(self.forget_spec),
            reference_fraction=np.float64(self.reference_fraction),
        )

    @staticmethod
    def load(path: str | Path) -> Splits:
        with np.load(path, allow_pickle=False) as z:
            return Splits(
                reference=z["reference"],
                forget=z["forget"],
                retain=z["retain"],
                test=z["test"],
                seed=int(z["seed"]),
                forget_spec=str(z["forget_spec"]),
                reference_fraction=float(z["reference_fraction"]),
            )


SEED_LIMIT = 2**32
"""Seeds are integers in [0, 2^32): what numpy, torch and Optuna's samplers all accept."""


def check_seed(seed: object, field: str = "seed") -> int:
    """``seed`` as an int, or a one-line :class:`UserError` naming ``field``."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) < SEED_LIMIT:
        raise UserError(field, f"{seed!r} is not a seed: seeds are integers in [0, 2^32)")
    return int(seed)


def make_splits(
    train_y: np.ndarray,
    n_test: int,
    forget: str | ForgetSpec,
    seed: int = 0,
    reference_fraction: float = 0.1,
    num_classes: int | None = None,
) -> Splits:
    """Derive reference / forget / retain / test index sets from ``seed``.

    ``train_y`` are the official train labels. Raises :class:`UserError` for a
    forget spec that cannot be met (too large, empty, unknown class).
    """
    check_seed(seed)
    spec = forget if isinstance(forget, ForgetSpec) else ForgetSpec.parse(forget)
    y = np.asarray(train_y)
    k = int(num_classes if num_classes is not None else y.max() + 1)
    if not 0.0 <= reference_fraction < 1.0:
        raise UserError("reference-fraction", f"{reference_fraction} is outside [0, 1)")

    ref_rng = numpy_stream(seed, "reference")
    reference = []
    for c in range(k):
        idx = np.flatnonzero(y == c)
        n_ref = round(len(idx) * reference_fraction)
        if reference_fraction > 0 and len(idx) > 1:
            n_ref = max(1, n_ref)
        reference.append(ref_rng.permutation(idx)[:n_ref])
    ref = np.sort(np.concatenate(reference)).astype(np.int64)
    part = np.setdiff1d(np.arange(len(y)), ref)

    if spec.kind == "class":
        bad = [c for c in spec.classes if not 0 <= c < k]
        if bad:
            raise UserError("forget", f"class id {bad[0]} out of range; allowed: 0..{k - 1}")
        fgt = part[np.isin(y[part], spec.classes)]
    else:
        n = spec.count if spec.kind == "count" else round(spec.fraction * len(part))
        if spec.kind == "count" and n >= len(part):
            raise UserError(
                "forget", f"count {n} is not smaller than the train part ({len(part)} samples)"
            )
        fgt = np.sort(numpy_stream(seed, "forget").choice(part, size=n, replace=False))
    if len(fgt) == 0:
        raise UserError("forget", f"{spec} selects no samples from the train part")
    retain = np.setdiff1d(part, fgt)
    if len(retain) == 0:
        raise UserError("forget", f"{spec} leaves no retain samples")
    splits = Splits(
        reference=ref,
        forget=np.asarray(fgt, dtype=np.int64),
        retain=retain.astype(np.int64),
        test=np.arange(n_test, dtype=np.int64),
        seed=seed,
        forget_spec=str(spec),
        reference_fraction=reference_fraction,
    )
    splits.check(len(y), n_test)
    return splits
