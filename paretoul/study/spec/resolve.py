"""Resolution of a spec's arms, once each: the searched space, fixed values, grid points and
budget of an arm, checked against its method's declaration (:class:`ResolvedArm`)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paretoul.errors import UserError, did_you_mean
from paretoul.methods import Param, get_method
from paretoul.study.spec.comparisons import ArmSetting, Pairing

if TYPE_CHECKING:
    from paretoul.study.spec.schema import Arm, Range, StudySpec


def field_key(key: object) -> str:
    """``.key`` for a readable key, ``[repr]`` for one that is empty or holds a line break or
    other unprintable character (so a field name is always one line)."""
    return f".{key}" if isinstance(key, str) and key.isprintable() and key.strip() else f"[{key!r}]"


@dataclass(frozen=True)
class ResolvedArm:
    """One arm of a spec resolved against its method: what its searcher searches (``space``),
    what every trial holds (``fixed``), a grid arm's points, and how many trials it runs."""

    space: dict[str, Param]
    fixed: dict[str, Any]
    points: list[dict[str, Any]]
    """A grid arm's parameter sets in order (its first ``budget``); empty for other arms."""
    budget: int
    arm_setting: ArmSetting
    """Its name, method and what every parameter is held at (fixed, searched range, or grid
    values)."""


def resolve_arm(spec: StudySpec, i: int) -> ResolvedArm:
    """Arm ``i`` of ``spec`` resolved (a :class:`~paretoul.errors.UserError` naming the field if it
    does not fit its method or searcher)."""
    arm = spec.arms[i]
    space, fixed = _space(spec, i)
    budget = _budget(spec, i)
    points = grid_points(arm)[:budget] if arm.searcher.type == "grid" else []
    method = get_method(arm.method)
    values: dict[str, tuple[str, Any]] = {k: ("fixed", v) for k, v in method.config(fixed).to_dict().items()}
    for k, p in space.items():
        values[k] = ("searched", (p.kind, p.low, p.high, p.log, tuple(p.choices or ())))
    for k, vs in arm.grid.items():
        values[k] = ("grid", tuple(method.config({**fixed, k: v}).to_dict()[k] for v in vs))
    held = ArmSetting(spec.arm_name(i), arm.method, values, arm.replicates)
    return ResolvedArm(space, fixed, points, budget, held)


def _space(spec: StudySpec, i: int) -> tuple[dict[str, Param], dict[str, Any]]:
    """``(searched dimensions, fixed parameters)`` of arm ``i``, checked against the method."""
    arm = spec.arms[i]
    where = f"arms[{i}]"
    method = get_method(arm.method)
    declared = {p.name: p for p in method.space}
    fields = set(method.Config.field_names())
    helps = {p.name: p.help for p in method.space}
    for key in arm.fixed:
        if key not in fields:
            raise UserError(f"{where}.fixed{field_key(key)}", f"not a parameter of {arm.method}"
                            f"{did_you_mean(key, fields, helps)}; allowed: {', '.join(sorted(fields))}")
    try:
        method.config(arm.fixed)
    except UserError as e:
        raise UserError(f"{where}.fixed.{e.field.removeprefix('param.')}", e.message) from None
    for key in list(arm.space) + list(arm.search or []):
        if key not in declared:
            raise UserError(f"{where}.space{field_key(key)}" if key in arm.space else f"{where}.search",
                            f"{key!r} is not in {arm.method}'s search space"
                            f"{did_you_mean(key, declared, helps)}; allowed: "
                            f"{', '.join(sorted(declared)) or '(none)'}")
    if arm.searcher.type == "grid":
        if not arm.grid and method.space:  # a method without knobs (retrain): its one point
            raise UserError(f"{where}.grid", "a grid arm needs grid: {param: [values, ...]}")
        for key, values in arm.grid.items():
            if key not in fields:
                raise UserError(f"{where}.grid{field_key(key)}", f"not a parameter of {arm.method}"
                                f"{did_you_mean(key, fields, helps)}; allowed: {', '.join(sorted(fields))}")
            if not values:
                raise UserError(f"{where}.grid.{key}", "needs at least one value")
            if key in arm.fixed:
                raise UserError(f"{where}.grid.{key}", "is also fixed")
            for v in values:
                try:
                    method.config({**arm.fixed, key: v})
                except UserError as e:
                    raise UserError(f"{where}.grid.{key}", f"value {v!r}: {e.message}") from None
        return {}, dict(arm.fixed)
    if arm.grid:
        raise UserError(f"{where}.grid", f"only grid arms take a grid (searcher is {arm.searcher.type})")
    names = arm.search if arm.search is not None else [
        n for n, p in declared.items() if n not in arm.fixed and p.searched_by_default]
    searched: dict[str, Param] = {}
    for n in names:
        if n in arm.fixed:
            raise UserError(f"{where}.search", f"{n!r} is both searched and fixed")
        searched[n] = _narrow(declared[n], arm.space.get(n), f"{where}.space.{n}")
    for n in arm.space:
        if n not in searched:
            raise UserError(f"{where}.space.{n}", "narrows a dimension that is not searched")
    if not searched:
        raise UserError(f"{where}.search", "nothing to search; use a grid arm or fewer fixed parameters")
    return searched, dict(arm.fixed)


def _narrow(p: Param, r: Range | None, field: str) -> Param:
    if r is None:
        return p
    if p.kind == "categorical":
        if r.low is not None or r.high is not None or r.log is not None:
            raise UserError(field, "a categorical dimension takes choices, not low/high/log")
        choices = tuple(r.choices) if r.choices is not None else p.choices
        bad = [c for c in choices if c not in p.choices]
        if bad or not choices:
            raise UserError(field, f"choice {bad[0] if bad else None!r} not allowed; allowed: "
                            f"{', '.join(map(str, p.choices))}")
        return Param(p.name, p.kind, choices=choices, help=p.help)
    if r.choices is not None:
        raise UserError(field, "a numeric dimension takes low/high/log, not choices")
    low = p.low if r.low is None else r.low
    high = p.high if r.high is None else r.high
    log = p.log if r.log is None else r.log
    if low > high:
        raise UserError(field, f"low {low:g} > high {high:g}")
    if log and low <= 0:
        raise UserError(field, f"a log range must be > 0 (low is {low:g})")
    if low < p.low or high > p.high:
        raise UserError(field, f"[{low:g}, {high:g}] leaves the declared range [{p.low:g}, {p.high:g}]")
    if p.kind == "int" and (low != int(low) or high != int(high)):
        raise UserError(field, "an integer range needs whole-number bounds")
    return Param(p.name, p.kind, low, high, log, help=p.help)


def _budget(spec: StudySpec, i: int) -> int:
    """The number of trials arm ``i`` runs (its searcher's own keys are checked by
    :class:`~paretoul.study.spec.schema.SearcherSpec`)."""
    arm = spec.arms[i]
    where = f"arms[{i}]"
    s = arm.searcher
    if s.type == "grid":
        size = math.prod(len(v) for v in arm.grid.values())
        if arm.budget is not None and arm.budget > size:
            raise UserError(f"{where}.budget", f"{arm.budget} exceeds the grid's {size} points")
        return arm.budget or size
    if s.type == "pymoo":
        total = s.population * s.generations  # type: ignore[operator]
        if arm.budget is not None and arm.budget != total:
            raise UserError(f"{where}.budget", f"{arm.budget} != population x generations ({total})")
        return total
    if arm.budget is None:
        raise UserError(f"{where}.budget", f"an {s.type} arm needs a budget (number of trials)")
    return arm.budget


def grid_points(arm: Arm) -> list[dict[str, Any]]:
    """A grid arm's parameter sets: the Cartesian product of its values, in order."""
    keys = list(arm.grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*arm.grid.values())]


def arm_settings(spec: StudySpec) -> dict[str, ArmSetting]:
    """What every parameter of every arm is held at, by arm name."""
    return {r.arm_setting.name: r.arm_setting for r in spec.resolved}


def declared_pairings(spec: StudySpec) -> list[Pairing]:
    """The spec's comparisons as :class:`Pairing` values (named ``JD vs FIXED`` by default)."""
    out = []
    for c in spec.comparisons or []:
        jd, fixed = c.sides()
        out.append(Pairing(c.name or f"{' + '.join(jd)} vs {' + '.join(fixed)}", jd, fixed,
                           paired_by=c.paired_by))
    return out

