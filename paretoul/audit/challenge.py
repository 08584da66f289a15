"""``paretoul audit``: forget quality as the NeurIPS 2023 Machine Unlearning Challenge scored it.

For one setting (dataset, model, forget set, seed) and one method with its parameters:

- N **retrained** models: independent retrains on the retain set (the oracle's recipe, each its
  own init and batch order; cached by content like the oracle), trained together as one grouped
  model where the model allows it (:mod:`paretoul.training.ensemble`; bit-for-bit the same);
- N **unlearned** models: the method run N times from the same original, each with its own
  method seed (batch order, random labels, fresh inits);
- every model's logit-scaled confidence on every forget example, and its RA and TA;
- the score (:mod:`paretoul.audit.score`): forget quality, mean ε, the ε histogram, and the
  final score forget quality x RA ratio x TA ratio.

The trainings run as Ray tasks (a local Ray or a cluster's; the original and the oracle are
shipped once through the object store): one per method run, and the retrains split into one
task per free worker slot. With ``local=True`` they run in this process.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from paretoul.artefacts import independent_retrains, prepare
from paretoul.audit.floor import cached_floor, floor_of, store_floor
from paretoul.audit.score import final_score, forget_score, logit_scaled_confidence
from paretoul.errors import UserError
from paretoul.execution.fanout import TaskPool
from paretoul.execution.shipping import SharedSetting, artefacts_of, shipped_states
from paretoul.methods import get_method
from paretoul.one_run import configure, unlearn_and_evaluate
from paretoul.streams import stream_seed
from paretoul.training import groupable

MIN_MODELS = 3
"""Fewest models per side: with 2 the score's buckets are empty (ceil(ln 1) = 0)."""


def _forget_view(model: torch.nn.Module, art: Any) -> dict[str, Any]:
    """A model's confidences on the forget examples and its accuracies (percent)."""
    model.eval()
    forget = torch.as_tensor(art.splits.forget, device=art.device)
    with torch.no_grad():
        logits = torch.cat([model(art.data.train_x[forget[i:i + 1024]])
                            for i in range(0, len(forget), 1024)])
        y = art.data.train_y[forget]

        def acc(idx: Any, x: torch.Tensor, labels: torch.Tensor) -> float:
            idx = torch.as_tensor(idx, device=art.device)
            pred = torch.cat([model(x[idx[i:i + 1024]]).argmax(1) for i in range(0, len(idx), 1024)])
            return float((pred == labels[idx]).float().mean() * 100)

        ra = acc(art.splits.retain, art.data.train_x, art.data.train_y)
        ta = acc(np.arange(len(art.data.test_y)), art.data.test_x, art.data.test_y)
    conf = logit_scaled_confidence(logits.float().cpu().numpy(), y.cpu().numpy())
    ua = float((logits.argmax(1) == y).float().mean() * 100)
    return {"confidences": conf, "ra": ra, "ta": ta, "forget_acc": ua}


def audit_job(kind: str, ks: list[int], method: str, params: dict[str, Any], cache_dir: str | None,
              shared: Any) -> list[dict[str, Any]]:
    """Some of the audit's 2N trainings: the retrains number ``ks`` (trained together where the
    model allows it), or the method's runs number ``ks`` (one after another)."""
    torch.set_num_threads(max(1, int(shared.cpus)))
    t0 = time.perf_counter()
    art = artefacts_of(shared)[0]
    out = []
    if kind == "retrain":
        trained = independent_retrains(art, ks, cache_dir)
        share = (time.perf_counter() - t0) / len(ks)
        for k, tm in zip(ks, trained, strict=True):
            out.append({"kind": kind, "k": k, **_forget_view(tm.model, art), "seconds": share,
                        "cache": tm.cache_status})
        return out
    for k in ks:
        t1 = time.perf_counter()
        run = unlearn_and_evaluate(art, method, params,
                                   method_seed=stream_seed(art.seed, f"audit:unlearn:{k}"))
        out.append({"kind": kind, "k": k, **_forget_view(run.model, art),
                    "seconds": time.perf_counter() - t1})
    return out


def _jobs(ks: list[int], together: bool, slots: int, unlearn: bool) -> list[tuple[str, list[int]]]:
    """The audit's jobs: the retrains in ``slots`` near-equal groups when they can train
    together (else one each), then (with ``unlearn``) one job per method run."""
    if together:
        retrains = [c.tolist() for c in np.array_split(np.asarray(ks), max(1, min(slots, len(ks))))]
    else:
        retrains = [[k] for k in ks]
    return [("retrain", c) for c in retrains] + [("unlearn", [k]) for k in ks if unlearn]


def audit(config: Any = None, models: int = 8, *, local: bool = False, address: str | None = None,
          cpus: float = 1.0, gpus: float = 0.0, quiet: bool = False, untouched: bool = False,
          floor: bool = False, **overrides: Any) -> dict[str, Any]:
    """Audit one configuration (a :class:`~paretoul.one_run.RunConfig` or its fields as keywords)
    with ``models`` retrained and ``models`` unlearned models; returns the score and its parts.
    ``cpus``/``gpus``: per training task on Ray (a task without a GPU share sees no GPU).
    ``untouched``: the unlearned side is the original itself, unchanged (N copies; the method
    and its parameters are not used): what doing nothing scores.

    ``result["floor"]`` is the noise floor at the same setting, seed and N (``retrain`` audited
    against retrains; :mod:`paretoul.audit.floor`): this audit itself when the method is
    ``retrain``, else the cached one, else (``floor=True``) measured now, else None."""
    cfg = configure(config, **overrides)
    if isinstance(models, bool) or not isinstance(models, int) or models < MIN_MODELS:
        raise UserError("models", f"{models!r}: give at least {MIN_MODELS} models per side (with 2 "
                        "the score has no bucket: ceil(ln(N - 1)) = 0)")
    t0 = time.perf_counter()
    art = prepare(cfg.setting, [cfg.seed], cache_dir=cfg.cache_dir, download=cfg.download)[0]
    if len(art.splits.forget) == 0:
        raise UserError("forget", "the forget set is empty")
    params = {} if untouched else get_method(cfg.method).config(cfg.params).to_dict()
    shared = SharedSetting(cfg.setting, cpus, None, {cfg.seed: shipped_states(art)})
    cache = str(cfg.cache_dir) if cfg.cache_dir else None
    ks = list(range(models))
    together = groupable(art.new_model(0))
    with TaskPool(address, cpus, gpus, local=local) as pool:
        jobs = _jobs(ks, together, pool.slots(), not untouched)
        results = _run(pool, jobs, cfg.method, params, shared, cache, quiet)
    if untouched:
        view = _forget_view(art.original.model, art)
        results += [{"kind": "unlearn", "k": k, **view, "seconds": 0.0} for k in ks]
    by = {kind: sorted((r for r in results if r["kind"] == kind), key=lambda r: r["k"])
          for kind in ("retrain", "unlearn")}
    U = np.stack([r["confidences"] for r in by["unlearn"]])
    R = np.stack([r["confidences"] for r in by["retrain"]])
    score = forget_score(U, R)
    acc = {kind: {m: [r[m] for r in by[kind]] for m in ("ra", "ta", "forget_acc")} for kind in by}
    final = final_score(score.forget_quality, acc["unlearn"]["ra"], acc["retrain"]["ra"],
                        acc["unlearn"]["ta"], acc["retrain"]["ta"])
    result = {
        "config": {**asdict(cfg), "params": params,
                   **({"method": "original (untouched)"} if untouched else {})},
        "untouched": untouched, "models": models,
        "forget_examples": len(art.splits.forget),
        "forget_quality": score.forget_quality, "final_score": final,
        "mean_epsilon": score.mean_epsilon, "max_epsilon": len(score.points) * 0.5,
        "histogram": [{"from": a, "examples": n} for a, n in score.histogram()],
        "accuracy": {kind: {m: {"mean": float(np.mean(v)), "per_model": v} for m, v in d.items()}
                     for kind, d in acc.items()},
        "ratios": {"ra": float(np.mean(acc["unlearn"]["ra"]) / np.mean(acc["retrain"]["ra"])),
                   "ta": float(np.mean(acc["unlearn"]["ta"]) / np.mean(acc["retrain"]["ta"]))},
        "train_seconds": {kind: float(sum(r["seconds"] for r in by[kind])) for kind in by},
        "wall_s": time.perf_counter() - t0, "runner": "local" if local else "ray",
        "reference": "google-deepmind/unlearning_evaluation @ ffae0ff, metric.py + main.py",
    }
    if cfg.method == "retrain" and not untouched:
        store_floor(cfg.setting, cfg.seed, result, cfg.cache_dir)
        result["floor"] = floor_of(result, "this audit")
        return result
    result["floor"] = cached_floor(cfg.setting, cfg.seed, models, cfg.cache_dir)
    if result["floor"] is None and floor:
        measured = audit(cfg, models, local=local, address=address, cpus=cpus, gpus=gpus,
                         quiet=quiet, method="retrain", params={})
        result["floor"] = {**measured["floor"], "source": "measured"}
    return result


def _report(rs: list[dict[str, Any]], done: int, total: int, quiet: bool) -> None:
    if quiet:
        return
    for i, r in enumerate(rs, done - len(rs) + 1):
        print(f"audit: {r['kind']} {r['k']} done ({r['seconds']:.1f} s; RA {r['ra']:.2f}, TA "
              f"{r['ta']:.2f}) [{i}/{total}]", flush=True)


def _run(pool: TaskPool, jobs: list[tuple[str, list[int]]], method: str, params: dict[str, Any],
         shared: Any, cache: str | None, quiet: bool) -> list[dict[str, Any]]:
    """Every job on ``pool``: one task per method run; the retrains as one task per free slot,
    each training its share together (one task per retrain when the model cannot train in a
    group)."""
    out: list[dict[str, Any]] = []
    total = sum(len(c) for _, c in jobs)
    calls = [(kind, c, method, params, cache) for kind, c in jobs]
    for _, rs, error in pool.map(audit_job, calls, shared):
        if error is not None:
            raise error
        out += rs
        _report(rs, len(out), total, quiet)
    return out
