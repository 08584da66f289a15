"""The sentences of a comparison: which seeds a figure used, the verdict, how arms were paired."""

from __future__ import annotations

from typing import Any

import numpy as np

from paretoul.pareto.paired import MIN_SEEDS
from paretoul.study.storage.records import StudyData


def seeds_text(seeds: list[int]) -> str:
    """``0-7`` for a run of consecutive seeds, else ``0, 3, 9``."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def measured_on(data: StudyData, on: str) -> str:
    """Which seeds a figure used, in words."""
    search = f"search seeds {seeds_text(data.search_seeds)}"
    if on == "search":
        return f"selected and measured on the {search}"
    return (f"selected on the {search}, measured on the held-out validation seeds "
            f"{seeds_text(data.validation_seeds)}")


def verdict_sentence(name: str, c: dict[str, Any], f: dict[str, Any], because: str, n: int | None) -> str:
    full = c["full_budget"]["trials"]
    runs = c["replicates"]
    per_run = " run" if runs > 1 else ""
    if c["on"] == "validation":  # the fronts the search delivered, measured on new seeds
        counts = (f"the delivered fronts: {full['jd']} JD and {full['fixed']} fixed-weight trials"
                  + (f" from {runs} search runs per side" if runs > 1 else "")
                  + (f"; at equal budget, the fronts of the first {n} trials of each{per_run}"
                     if n is not None else ""))
    else:
        counts = (f"{full['jd']} JD vs {full['fixed']} fixed-weight trials"
                  + (f" from {runs} search runs per side" if runs > 1 else "")
                  + (f"; at equal budget, the first {n} of each{per_run}" if n is not None else ""))
    head = f"{name} ({counts}; {c['measured_on']}): "
    bd, nb = f["fixed_dominated_by_jd"]
    ad, na = f["jd_dominated_by_fixed"]
    mean_of = " (mean over search runs)" if runs > 1 else ""
    top = float(np.prod(c["normalisation"]["reference_point_normalised"])) if "normalisation" in c else None
    scale = f", of at most {top:.3g}" if top is not None else ""
    text = (head + f"{bd} of {nb} fixed-weight trials are dominated by a Jacobian-descent trial, "
            f"{ad} of {na} Jacobian-descent trials by a fixed-weight one; HV{mean_of} "
            f"{f['hv']['jd']:.3f} (JD) vs {f['hv']['fixed']:.3f} (fixed){scale}")
    iv = f.get("interval")
    if iv is not None and c["seeds"] >= MIN_SEEDS:
        lo, hi = iv["hv_difference_95"]
        text += (f"; per-seed HV difference {f['hv_difference']:+.3f} [95% CI {lo:+.3f}, {hi:+.3f}] "
                 f"over {c['seeds']} seeds ({iv['method']})")
    else:
        diffs = ", ".join(f"{d:+.3f}" for d in f["hv_difference_per_seed"])
        text += f"; per-seed HV differences {diffs} over {c['seeds']} seed(s)"
    return text + f": {because}."


def pairing_lines(result: dict[str, Any]) -> list[str]:
    """How the study's arms were paired (declared or automatic) and which were left out, why."""
    pairing = result["pairing"]
    head = ("Declared comparisons (checked matched when the spec was loaded): " if pairing["declared"]
            else "No comparisons declared; paired automatically where arms match: ")
    return [head + (", ".join(pairing["made"]) or "none")] + [
        f"left out {arm}: {why}" for arm, why in pairing["left_out"].items()]


def reference_text(c: dict[str, Any]) -> str:
    """A comparison's HV reference point in objective units, e.g. ``forget_gap 7.2, retain_gap 3.1``."""
    n = c["normalisation"]
    return ", ".join(f"{o} {v:.4g}" for o, v in zip(n["objectives"], n["reference_point"], strict=True))
