"""The checks of a spec that need the registries or more than one arm: objectives'
directions, each arm's space and budget, replicates, preferences, references, comparisons."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

from paretoul.data import DATASETS, ForgetSpec
from paretoul.errors import UserError
from paretoul.jd import PREFERENCE
from paretoul.study.spec.comparisons import ArmSetting, check_pairing
from paretoul.study.spec.names import unit_name
from paretoul.study.spec.resolve import ResolvedArm, declared_pairings, resolve_arm

if TYPE_CHECKING:
    from paretoul.study.spec.schema import StudySpec


def validate(spec: StudySpec) -> tuple[ResolvedArm, ...]:
    """The rules of a spec that need the registries or more than one arm (run by
    :class:`~paretoul.study.spec.schema.StudySpec`'s model validator): objectives' directions,
    each arm resolved against its method, replicates, preferences, references and the declared
    comparisons. Returns the resolved arms."""
    for j, (o, d) in enumerate(zip(spec.objectives, spec.directions(), strict=True)):
        if d not in ("min", "max"):
            raise UserError(f"objectives[{j}].direction", f"{o.metric} is a 'match' metric; "
                            "give direction: min or max, or use a gap metric")
    if spec.hv_reference is not None and len(spec.hv_reference) != len(spec.objectives):
        raise UserError("hv_reference", f"{len(spec.hv_reference)} values for "
                        f"{len(spec.objectives)} objectives")
    resolved = []
    for i in range(len(spec.arms)):
        resolved.append(resolve_arm(spec, i))
        _check_replicates(spec, i)
        _check_fidelity(spec, i)
    settings = {r.arm_setting.name: r.arm_setting for r in resolved}
    for i in range(len(spec.arms)):
        _check_preference(settings[spec.arm_name(i)], i)
        _check_reference(spec, settings[spec.arm_name(i)], i)
    if spec.comparisons is not None:
        for j, pairing in enumerate(declared_pairings(spec)):
            problem = check_pairing(pairing, settings)
            if problem:
                raise UserError(f"comparisons[{j}].{problem[0]}", problem[1])
    return tuple(resolved)


def _check_preference(arm: ArmSetting, i: int) -> None:
    """A ``raul`` arm that varies ``w`` must hold its aggregator to ones that take a preference
    (else some of its trials would fail on the pair)."""
    how, _ = arm.values.get("w", ("fixed", None))
    if arm.method != "raul" or how == "fixed":
        return
    agg_how, agg = arm.values.get("aggregator", ("fixed", None))
    values = [agg] if agg_how == "fixed" else list(agg) if agg_how == "grid" else list(agg[4])
    bad = [v for v in values if v not in PREFERENCE]
    if bad:
        raise UserError(f"arms[{i}].aggregator", f"{bad[0]} takes no preference, but the arm varies w; "
                        f"fix aggregator to one of {', '.join(PREFERENCE)}")


def _check_reference(spec: StudySpec, arm: ArmSetting, i: int) -> None:
    """An arm whose forget target needs the held-out reference set cannot run without one."""
    if "reference" not in arm.values or spec.reference_fraction > 0:
        return
    how, what = arm.values["reference"]
    values = [what] if how == "fixed" else list(what) if how == "grid" else list(what[4])
    random = ForgetSpec.parse(spec.forget).kind != "class"
    needs = [v for v in values if v not in ("uniform", "auto") or (v == "auto" and random)]
    if needs:
        why = ("auto picks rank-calibrated for random forgetting" if needs[0] == "auto"
               else f"{needs[0]} is computed from the reference set")
        raise UserError(f"arms[{i}].reference", f"{why}, but reference_fraction is 0; give "
                        "reference_fraction > 0 or fix reference: uniform")


def _check_fidelity(spec: StudySpec, i: int) -> None:
    """Rungs of increasing seed counts ending at the study's seeds; a paired arm runs every
    configuration on every seed (else pairs would go missing)."""
    fidelity = spec.arms[i].fidelity
    if fidelity is None:
        return
    where, counts, n = f"arms[{i}].fidelity", fidelity.seeds, len(spec.seeds)
    if any(b <= a for a, b in itertools.pairwise(counts)) or counts[-1] != n:
        raise UserError(f"{where}.seeds", f"{counts}: seeds per rung must increase and end at the "
                        f"study's {n} seeds (e.g. [1, {n}])")
    if fidelity.stop == "significant" and counts[0] < 2:
        raise UserError(f"{where}.stop", f"significant needs at least 2 seeds at the first rung "
                        f"(a paired test on one seed has no spread); seeds is {counts}")
    name = spec.arm_name(i)
    for j, c in enumerate(spec.comparisons or []):
        if c.paired_by is not None and name in (*c.jd, *c.fixed):
            raise UserError(where, f"arm {name!r} is paired by {c.paired_by} in comparisons[{j}], "
                            "which needs every configuration on every seed; leave fidelity out")


def _check_replicates(spec: StudySpec, i: int) -> None:
    arm = spec.arms[i]
    if arm.replicates == 1:
        return
    where = f"arms[{i}].replicates"
    if arm.searcher.type == "grid":
        raise UserError(where, f"{arm.replicates}: a grid arm is deterministic, so its replicates "
                        "would repeat it (allowed: 1)")
    if arm.searcher.seed + arm.replicates - 1 >= 2**32:
        raise UserError(where, f"{arm.replicates}: replicate seeds seed..seed+{arm.replicates - 1} "
                        f"must stay below 2^32 (searcher.seed is {arm.searcher.seed})")
    taken = {spec.arm_name(j) for j in range(len(spec.arms))}
    clash = [unit_name(spec.arm_name(i), r) for r in range(1, arm.replicates)
             if unit_name(spec.arm_name(i), r) in taken]
    if clash:
        raise UserError(where, f"replicate {clash[0]!r} has the name of another arm; rename that arm")



def check_data_root(spec: StudySpec) -> None:
    """A dataset read from files needs an existing ``data_root`` (checked before Ray starts;
    not part of :func:`validate`, so a spec can be checked on a machine without the data)."""
    info = DATASETS.get(spec.dataset)
    if info.locate is not None:
        info.locate(Path(spec.data_root).expanduser())
        return
    if info.needs_files and not Path(spec.data_root).expanduser().is_dir():
        raise UserError("data_root", f"no such directory: {spec.data_root!r} ({spec.dataset} is read "
                        f"from there; fetch it with `paretoul run --dataset {spec.dataset} "
                        f"--data-root DIR --download`)")

