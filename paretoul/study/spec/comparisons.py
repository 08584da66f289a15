"""Matched Jacobian-descent vs fixed-weight comparisons: which arms may be compared, and why not.

A comparison puts ``raul`` arms (Jacobian descent) against ``scalarized`` arms (the same two
objectives under a fixed weight). It is matched when both sides use the same ``reference``,
``kl_direction`` and ``temperature`` and the same fixed, searched or gridded values of every
other parameter — except the preference ``w`` and the JD side's ``aggregator`` — and the
same number of ``replicates`` (independent search runs). A JD side
whose aggregator can be ``mean`` is refused: the mean of the two gradients is the fixed
weighting w = 0.5, not Jacobian descent.

A comparison **paired by w** (``paired_by: w``) is the fair design: one arm a side, both running
the same values of ``w`` and of every other parameter (equal grids, nothing searched), the JD
side's aggregator fixed to one that takes a preference. Each ``w`` and seed then has one trial
a side that differs from its partner only in the projection of the gradients.

This module works on :class:`ArmSetting` values (what each parameter of an arm is held at);
:mod:`paretoul.study.spec` builds them, so it imports nothing from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paretoul.jd import PREFERENCE

JD_METHOD = "raul"
FIXED_METHOD = "scalarized"
FREE = {JD_METHOD: ("aggregator", "w"), FIXED_METHOD: ("w",)}
"""What each side of an unpaired comparison may hold at anything: how it combines the gradients."""
PAIRED_BY = ("w",)
"""What a comparison can be paired by."""


@dataclass(frozen=True)
class ArmSetting:
    """What each parameter of an arm is held at: ``("fixed", value)``, ``("searched", range)``
    or ``("grid", values)`` (a parameter neither fixed, searched nor gridded is at its default,
    which counts as fixed)."""

    name: str
    method: str
    values: dict[str, tuple[str, Any]]
    replicates: int = 1
    """Independent search runs of the arm (a comparison's sides must have as many)."""

    def describe(self, param: str) -> str:
        how, what = self.values.get(param, ("fixed", None))
        if how == "fixed":
            return f"fixed {what!r}"
        if how == "grid":
            return f"grid {list(what)!r}"
        kind, low, high, log, choices = what
        if kind == "categorical":
            return "searched {" + ", ".join(map(str, choices)) + "}"
        if kind == "int":
            low, high = int(low), int(high)
        return f"searched {kind} [{low:g}, {high:g}]{' log' if log else ''}"

    def may_be(self, param: str, value: Any) -> bool:
        """Whether a trial of this arm can have ``param`` equal to ``value``."""
        how, what = self.values.get(param, ("fixed", None))
        if how == "fixed":
            return what == value
        if how == "grid":
            return value in what
        return value in what[4]


@dataclass(frozen=True)
class Pairing:
    """One comparison: its name and the arm names of each side."""

    name: str
    jd: tuple[str, ...]
    fixed: tuple[str, ...]
    declared: bool = True
    paired_by: str | None = None
    """``w``: each trial of one side has a partner on the other at the same ``w`` (and every other
    parameter); None: the two sides' fronts are compared unpaired."""

    @property
    def design(self) -> str:
        return f"paired by {self.paired_by}" if self.paired_by else "unpaired"


@dataclass
class AutoPairs:
    """What the analysis paired by itself (no ``comparisons`` in the spec), and what it left out."""

    made: list[Pairing] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    """arm name -> why it is in no comparison."""


def jd_refusal(arm: ArmSetting) -> str | None:
    """Why ``arm`` cannot be a JD side, or None."""
    if arm.method != JD_METHOD:
        return f"arm {arm.name!r} is a {arm.method} arm, not {JD_METHOD} (Jacobian descent)"
    if arm.may_be("aggregator", "mean"):
        return (f"arm {arm.name!r} can use aggregator: mean, which is the fixed weighting w = 0.5, "
                "not Jacobian descent (fix or narrow its aggregator)")
    return None


def mismatch(jd: ArmSetting, fixed: ArmSetting) -> str | None:
    """The first parameter in which ``jd`` and ``fixed`` differ (as a phrase), or None."""
    if fixed.method != FIXED_METHOD:
        return f"arm {fixed.name!r} is a {fixed.method} arm, not {FIXED_METHOD} (fixed weights)"
    params = sorted((set(jd.values) | set(fixed.values)) - {*FREE[JD_METHOD], *FREE[FIXED_METHOD]})
    # reference, kl_direction and temperature first: they define the objectives
    ordered = [p for p in ("reference", "kl_direction", "temperature") if p in params]
    ordered += [p for p in params if p not in ordered]
    for p in ordered:
        a, b = jd.values.get(p), fixed.values.get(p)
        if a != b:
            return (f"arms {jd.name!r} and {fixed.name!r} differ in {p}: {jd.describe(p)} vs "
                    f"{fixed.describe(p)}")
    if jd.replicates != fixed.replicates:
        return (f"arms {jd.name!r} and {fixed.name!r} differ in replicates: {jd.replicates} vs "
                f"{fixed.replicates} (both sides need the same number of search runs)")
    return None


def paired_mismatch(jd: ArmSetting, fixed: ArmSetting, by: str = "w") -> str | None:
    """Why ``jd`` and ``fixed`` (matched) cannot be paired by ``by``, or None: both must run the same
    values of ``by`` and of every other parameter (grids or fixed values, nothing searched), and
    the JD side's aggregator must be fixed to one that takes a preference."""
    how, agg = jd.values.get("aggregator", ("fixed", None))
    if how != "fixed" or agg not in PREFERENCE:
        return (f"arm {jd.name!r}'s aggregator is {jd.describe('aggregator')}; pairing by {by} needs "
                f"it fixed to one that takes a preference ({', '.join(PREFERENCE)})")
    for arm in (jd, fixed):
        if arm.values.get(by, ("fixed", None))[0] != "grid":
            return (f"arm {arm.name!r} has {by} {arm.describe(by)}; pairing by {by} needs a grid of "
                    f"{by} on both sides (grid: {{{by}: [...]}})")
    for p in sorted((set(jd.values) | set(fixed.values)) - {"aggregator"}):
        a, b = jd.values.get(p, ("fixed", None)), fixed.values.get(p, ("fixed", None))
        if "searched" in (a[0], b[0]):
            side = jd if a[0] == "searched" else fixed
            return (f"arm {side.name!r} searches {p}; a comparison paired by {by} needs every "
                    "parameter fixed or gridded alike on both sides")
        if a != b:
            return (f"arms {jd.name!r} and {fixed.name!r} differ in {p}: {jd.describe(p)} vs "
                    f"{fixed.describe(p)} (paired by {by}, both sides run the same values)")
    return None


def check_pairing(pairing: Pairing, arms: dict[str, ArmSetting]) -> tuple[str, str] | None:
    """``(which side, why)`` when ``pairing`` is not a matched comparison, else None."""
    for side, names in (("jd", pairing.jd), ("fixed", pairing.fixed)):
        for n in names:
            if n not in arms:
                return side, f"no arm named {n!r}; arms: {', '.join(arms)}"
    both = set(pairing.jd) & set(pairing.fixed)
    if both:
        return "fixed", f"arm {sorted(both)[0]!r} is on both sides"
    for n in pairing.jd:
        why = jd_refusal(arms[n])
        if why:
            return "jd", why
    for side, names in (("jd", pairing.jd), ("fixed", pairing.fixed)):
        counts = {arms[n].replicates for n in names}
        if len(counts) > 1:
            return side, (f"arms {', '.join(map(repr, names))} differ in replicates "
                          f"({', '.join(str(arms[n].replicates) for n in names)}); one side's arms "
                          "need the same number")
    for n in pairing.fixed:
        if arms[n].method != FIXED_METHOD:
            return "fixed", f"arm {n!r} is a {arms[n].method} arm, not {FIXED_METHOD} (fixed weights)"
    for a in pairing.jd:
        for b in pairing.fixed:
            why = mismatch(arms[a], arms[b])
            if why:
                return "fixed", why
    if pairing.paired_by is not None:
        if pairing.paired_by not in PAIRED_BY:
            return "paired_by", f"{pairing.paired_by!r}; allowed: {', '.join(PAIRED_BY)}"
        if len(pairing.jd) != 1 or len(pairing.fixed) != 1:
            return "paired_by", "a comparison paired by w has one arm a side"
        why = paired_mismatch(arms[pairing.jd[0]], arms[pairing.fixed[0]], pairing.paired_by)
        if why:
            return "paired_by", why
    return None


def auto_pairs(arms: dict[str, ArmSetting]) -> AutoPairs:
    """Every (raul arm, scalarized arm) pair that is a matched comparison, one comparison each
    (paired by w where the two arms allow it); every other raul or scalarized arm is left out
    with the reason."""
    out = AutoPairs()
    jd = [a for a in arms.values() if a.method == JD_METHOD]
    fixed = [a for a in arms.values() if a.method == FIXED_METHOD]
    paired: set[str] = set()
    reasons: dict[str, str] = {}
    for a in jd:
        refusal = jd_refusal(a)
        if refusal:
            reasons[a.name] = refusal
            continue
        for b in fixed:
            why = mismatch(a, b)
            if why is None:
                by = None if paired_mismatch(a, b) else "w"
                out.made.append(Pairing(f"{a.name} vs {b.name}", (a.name,), (b.name,), declared=False,
                                        paired_by=by))
                paired |= {a.name, b.name}
            else:
                reasons.setdefault(a.name, why)
                reasons.setdefault(b.name, why)
    for a in jd + fixed:
        if a.name not in paired:
            out.left_out[a.name] = reasons.get(a.name) or (
                f"no {FIXED_METHOD if a.method == JD_METHOD else JD_METHOD} arm to pair it with")
    return out
