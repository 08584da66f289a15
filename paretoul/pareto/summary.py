"""Fronts and hypervolume of a study: per arm, per method, per searcher and overall.

All objectives are turned into minimisation and normalised to [0, 1] by the range
over every finished trial of the study (stated in the output); the hypervolume
reference point is 1.1 in each normalised objective unless the spec gives one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from paretoul.geometry.fronts import as_minimisation, non_dominated, normalise, normaliser
from paretoul.geometry.indicators import hypervolume
from paretoul.methods.base import is_reference
from paretoul.study.storage.records import StudyData, TrialRecord

REFERENCE_PAD = 1.1


@dataclass
class Normalisation:
    """Maps objective values (own units and directions) to normalised minimisation form."""

    directions: list[str]
    low: np.ndarray
    high: np.ndarray
    reference: np.ndarray
    """The hypervolume reference point, normalised."""

    def __call__(self, F: np.ndarray) -> np.ndarray:
        return normalise(as_minimisation(np.asarray(F, dtype=float).reshape(-1, len(self.directions)),
                                         self.directions), self.low, self.high)

    def describe(self, objectives: list[str]) -> dict[str, Any]:
        signs = [1.0 if d == "min" else -1.0 for d in self.directions]
        return {
            "objectives": {o: {"direction": d, "range": [float(s * lo), float(s * hi)]}
                           for o, d, s, lo, hi in zip(objectives, self.directions, signs,
                                                       self.low, self.high, strict=True)},
            "reference_point_normalised": [float(r) for r in self.reference],
            "reference_point": [float(s * (lo + r * (hi - lo))) for s, lo, hi, r in
                                zip(signs, self.low, self.high, self.reference, strict=True)],
        }


def study_normalisation(data: StudyData, hv_reference: list[float] | None = None) -> Normalisation:
    """Normalisation over the study's finished trials; the reference point is ``hv_reference``,
    else the spec's ``hv_reference``, else 1.1 in every normalised objective."""
    if hv_reference is None and data.spec is not None:
        hv_reference = getattr(data.spec, "hv_reference", None)
    F = data.matrix()
    G = as_minimisation(F, data.directions) if len(F) else np.zeros((1, len(data.objectives)))
    low, high = normaliser(G)
    return normalisation(data.directions, low, high, hv_reference)


def normalisation(directions: list[str], low: np.ndarray, high: np.ndarray,
                  hv_reference: list[float] | None) -> Normalisation:
    """The :class:`Normalisation` of a minimisation range, its reference point ``hv_reference``
    (objective units) or 1.1 in every normalised objective."""
    if hv_reference is not None:
        ref = normalise(as_minimisation(np.array([hv_reference], dtype=float), directions),
                        low, high)[0]
    else:
        ref = np.full(len(directions), REFERENCE_PAD)
    return Normalisation(directions, low, high, ref)


def front_records(records: list[TrialRecord], norm: Normalisation) -> list[TrialRecord]:
    """The non-dominated finished records (in the order they were given)."""
    done = [r for r in records if r.state == "complete"]
    if not done:
        return []
    idx = non_dominated(norm(np.array([r.objectives for r in done])))
    return [done[i] for i in idx]


def hv_of(records: list[TrialRecord], norm: Normalisation) -> float:
    done = [r for r in records if r.state == "complete"]
    if not done:
        return 0.0
    return hypervolume(norm(np.array([r.objectives for r in done])), norm.reference)


def hv_history(records: list[TrialRecord], norm: Normalisation) -> list[tuple[int, float]]:
    """HV of the front after each finished trial, in completion order: ``(n, hv)``."""
    done = sorted((r for r in records if r.state == "complete"), key=lambda r: r.completed_at or 0.0)
    out = []
    for n in range(1, len(done) + 1):
        out.append((n, hypervolume(norm(np.array([r.objectives for r in done[:n]])), norm.reference)))
    return out


def method_representatives(data: StudyData) -> dict[str, TrialRecord]:
    """Per method, its finished trial closest to the oracle (smallest Avg. Gap, on the search
    seeds): the row of the method table, as the unlearning literature tunes its tables."""
    out: dict[str, TrialRecord] = {}
    for r in data.finished():
        best = out.get(r.method)
        if best is None or r.metrics.get("avg_gap", np.inf) < best.metrics.get("avg_gap", np.inf):
            out[r.method] = r
    return out


def _group(records: list[TrialRecord], key: str) -> dict[str, list[TrialRecord]]:
    groups: dict[str, list[TrialRecord]] = {}
    for r in records:
        groups.setdefault(getattr(r, key), []).append(r)
    return groups


def seed_spread(r: TrialRecord, objectives: list[str]) -> list[float]:
    """Standard deviation over seeds of each objective (0 with one seed)."""
    return [float(r.metrics_std.get(o, 0.0)) for o in objectives]


def point(r: TrialRecord, objectives: list[str]) -> dict[str, Any]:
    return {"arm": r.arm, "method": r.method, "trial": r.number, "key": r.key, "params": r.params,
            "objectives": dict(zip(objectives, r.objectives or (), strict=False)),
            "std": dict(zip(objectives, seed_spread(r, objectives), strict=True)),
            "avg_gap": r.metrics.get("avg_gap")}


def _versus_original(front: list[TrialRecord], original: np.ndarray | None, directions: list[str]
                     ) -> int | None:
    """How many of ``front``'s trials the untouched original dominates (None: no original)."""
    if original is None:
        return None
    o = as_minimisation(original[None, :], directions)[0]
    return sum(bool(np.all(o <= g) and np.any(o < g))
               for g in as_minimisation(np.array([r.objectives for r in front], dtype=float)
                                        .reshape(len(front), len(directions)), directions))


def summarise_fronts(data: StudyData, hv_reference: list[float] | None = None) -> dict[str, Any]:
    """Everything ``paretoul front`` prints: fronts and HV per arm/method/searcher/overall, and
    the untouched original's point with, per front, how many of its trials the original
    dominates (``dominated_by_original``)."""
    norm = study_normalisation(data, hv_reference)
    original = data.baseline_points().get("original")
    out: dict[str, Any] = {"study": data.name, "normalisation": norm.describe(data.objectives),
                           "trials": {"complete": len(data.finished()),
                                      "failed": sum(r.state == "failed" for r in data.records),
                                      "other": sum(r.state in ("running", "interrupted")
                                                   for r in data.records)}}
    for key, label in (("arm", "arms"), ("method", "methods"), ("searcher", "searchers")):
        groups = _group(data.records, key)
        out[label] = {}
        for name, rs in groups.items():
            front = front_records(rs, norm)
            out[label][name] = {"hv": hv_of(rs, norm), "finished": sum(r.state == "complete" for r in rs),
                                "front": [point(r, data.objectives) for r in front],
                                "dominated_by_original": _versus_original(front, original,
                                                                          data.directions)}
    candidates = [r for r in data.records if not is_reference(r.method)]  # references apart
    overall = front_records(candidates, norm)
    out["overall"] = {"hv": hv_of(candidates, norm),
                      "finished": sum(r.state == "complete" for r in candidates),
                      "front": [point(r, data.objectives) for r in overall],
                      "dominated_by_original": _versus_original(overall, original, data.directions)}
    out["original"] = (dict(zip(data.objectives, original.tolist(), strict=True))
                       if original is not None else None)
    out["hv_history"] = {name: hv_history(rs, norm) for name, rs in _group(data.records, "searcher").items()}
    return out
