"""One unlearning run, end to end: artefacts -> method.unlearn -> evaluate -> JSON record."""

from __future__ import annotations

import datetime as _dt
import functools
import json
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from paretoul.artefacts import Artefacts, prepare
from paretoul.data import DATASETS, ForgetSpec, check_seed
from paretoul.errors import UserError
from paretoul.methods import UnlearnContext, get_method
from paretoul.metrics import evaluate, predict
from paretoul.models import MODELS
from paretoul.setting import Setting
from paretoul.training.grouping import canonical_threads

_VERSIONED = ("paretoul", "torch", "torchvision", "torchjd", "scikit-learn", "numpy",
              "optuna", "pymoo", "ray")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_facts() -> dict[str, str]:
    """What besides the library versions decides the floats: the CPU and the kernel set torch
    dispatches to on it (AVX2 and AVX-512 kernels round differently, so the same seeds train
    other models on another kind of CPU)."""
    return {"machine": platform.machine(), "cpu": _cpu_model(),
            "torch_cpu_kernels": torch.backends.cpu.get_cpu_capability()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@dataclass
class RunConfig:
    """Everything that defines one ``paretoul run``."""

    dataset: str = "digits"
    model: str = "mlp"
    forget: str = "random:0.1"
    method: str = "ft"
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    reference_fraction: float = 0.1
    recipe: dict[str, Any] = field(default_factory=dict)
    data_root: str = "data"
    download: bool = False
    device: str = "auto"
    cache_dir: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    """Passed to the dataset loader, e.g. ``{"verify": False}`` for CIFAR copies."""

    @classmethod
    def from_setting(cls, setting: Setting, **fields: Any) -> RunConfig:
        """A run of ``setting`` (``fields``: the run's own, e.g. ``method``, ``params``, ``seed``)."""
        return cls(dataset=setting.dataset, model=setting.model, forget=setting.forget,
                   reference_fraction=setting.reference_fraction, recipe=dict(setting.recipe),
                   data_root=setting.data_root, device=setting.device,
                   dataset_options=dict(setting.dataset_options), **fields)

    @property
    def setting(self) -> Setting:
        """What the run's data, splits, original and oracle are made from."""
        return Setting(self.dataset, self.model, self.forget, self.reference_fraction, self.recipe,
                       self.data_root, self.device, self.dataset_options)

    def validate(self) -> None:
        """Cheap checks of names and values, before any data are loaded."""
        DATASETS.get(self.dataset)
        MODELS.get(self.model)
        check_seed(self.seed)
        get_method(self.method).config(self.params)
        ForgetSpec.parse(self.forget)
        if not 0.0 <= self.reference_fraction < 1.0:
            raise UserError("reference-fraction", f"{self.reference_fraction} is outside [0, 1)")


@dataclass
class MethodRun:
    """The result of running one method on prepared artefacts."""

    method: str
    params: dict[str, Any]
    metrics: dict[str, float]
    trace: dict[str, list[float]]
    unlearn_seconds: float
    evaluate_seconds: float
    model: torch.nn.Module


def load_torch_optim() -> None:
    """Load what torch loads on its first optimizer (``torch._dynamo``, sympy: about 2 s on a
    CPU), so that no method's unlearning time (RTE) includes it. Idempotent and cheap after the
    first call."""
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def unlearn_and_evaluate(
    art: Artefacts, method: str, params: dict[str, Any] | None = None, progress: bool = False,
    method_seed: int | None = None,
) -> MethodRun:
    """Run ``method`` on a copy of the original model and evaluate it against the oracle.

    ``method_seed``: the seed of the method's own randomness (batch order, random labels, new
    inits); default the setting's seed (splits, original and oracle are always its)."""
    m = get_method(method)
    cfg = m.config(params)
    seed = art.seed if method_seed is None else method_seed
    ctx = _context(art, seed, progress)
    model = art.original_copy()
    load_torch_optim()  # the one-time cost of torch's first optimizer is not the method's
    if art.device.type == "cuda":
        torch.cuda.synchronize(art.device)
    t0 = time.perf_counter()
    with canonical_threads(model):  # the bits a grouped run gives (unlearn_and_evaluate_many)
        result = m.unlearn(model, ctx, cfg)
    if art.device.type == "cuda":
        torch.cuda.synchronize(art.device)
    return _evaluated(art, method, cfg, result, time.perf_counter() - t0)


def _context(art: Artefacts, seed: int, progress: bool = False) -> UnlearnContext:
    return UnlearnContext(art.data, art.splits, art.recipe, seed, art.new_model, progress)


def _evaluated(art: Artefacts, method: str, cfg: Any, result: Any, seconds: float) -> MethodRun:
    """``result`` (an unlearned model) evaluated against the oracle, as a :class:`MethodRun`."""
    t1 = time.perf_counter()
    metrics = evaluate(art.context(predict(result.model, art.data), runtime_s=seconds))
    return MethodRun(method, cfg.to_dict(), metrics, result.trace, seconds,
                     time.perf_counter() - t1, result.model)


GROUP_ONE_THREAD_MAX_PARAMS = 100_000
"""At one thread, seeds unlearn grouped only for a model this small: measured
(``analysis/bench_grouped_seeds.py``) 1.16-1.45x on digits' 85k-parameter ``mlp`` and
0.94-0.96x on Fashion-MNIST's 270k-parameter one (compute-bound); at two threads or more,
grouping pays for both (1.14-1.86x, 1.27-1.30x). Either way the results are the same bits."""


def _grouping_pays(art: Artefacts) -> bool:
    n = sum(p.numel() for p in art.original.model.parameters())
    return torch.get_num_threads() > 1 or n <= GROUP_ONE_THREAD_MAX_PARAMS


def unlearn_and_evaluate_many(arts: Sequence[Artefacts], method: str,
                              params: dict[str, Any] | None = None,
                              group: bool | None = None) -> list[MethodRun]:
    """:func:`unlearn_and_evaluate` on each of ``arts`` (one per seed), with the seeds' training
    loops run as one grouped model where they can be (on CPU, for a method with ``groups``, where
    it is faster: :data:`GROUP_ONE_THREAD_MAX_PARAMS`; see :mod:`paretoul.methods.together`):
    each seed's result is bit-identical to its lone run. ``group``: True groups wherever it can
    (False never; None where it pays). A grouped seed's ``unlearn_seconds`` (its RTE) is its
    share of the group's wall time."""
    m = get_method(method)
    wanted = _grouping_pays(arts[0]) if group is None else group
    if len(arts) < 2 or not m.groups or not wanted or arts[0].device.type != "cpu":
        return [unlearn_and_evaluate(a, method, params) for a in arts]
    from paretoul.methods.together import unlearn_together

    cfg = m.config(params)
    models = [a.original_copy() for a in arts]
    ctxs = [_context(a, a.seed) for a in arts]
    load_torch_optim()
    t0 = time.perf_counter()
    results, _ = unlearn_together([functools.partial(m.unlearn, model, ctx, cfg)
                                   for model, ctx in zip(models, ctxs, strict=True)], models[0])
    seconds = (time.perf_counter() - t0) / len(arts)
    return [_evaluated(art, method, cfg, result, seconds)
            for art, result in zip(arts, results, strict=True)]


def _default_out(cfg: RunConfig) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"run-{stamp}-{cfg.dataset}-{cfg.method}-s{cfg.seed}"
    out, i = base, 1
    while out.exists():
        out, i = base.with_name(f"{base.name}-{i}"), i + 1
    return out


def configure(config: RunConfig | None = None, **overrides: Any) -> RunConfig:
    """A validated copy of ``config`` (default: :class:`RunConfig`) with ``overrides`` set; the
    caller's config (and its ``params``, ``recipe`` dicts) stays as it was."""
    names = [f.name for f in fields(RunConfig)]
    for k in overrides:
        if k not in names:
            raise UserError(k, f"unknown run option; allowed: {', '.join(names)}")
    cfg = replace(config if config is not None else RunConfig(), **overrides)
    cfg.params, cfg.recipe = dict(cfg.params), dict(cfg.recipe or {})
    cfg.dataset_options = dict(cfg.dataset_options or {})
    cfg.validate()
    return cfg


def run(
    config: RunConfig | None = None,
    out: str | Path | None = None,
    progress: bool = False,
    save_model: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Run one unlearning job and return its record (also written to ``out/record.json``).

    ``overrides`` set :class:`RunConfig` fields, e.g. ``run(method="ga", params={"lr": 1e-3})``.
    """
    cfg = configure(config, **overrides)
    out_dir = Path(out) if out is not None else _default_out(cfg)
    if (out_dir / "record.json").exists():
        raise UserError("out", f"{out_dir} already holds a run record; choose another directory")

    t_start = time.perf_counter()
    art = prepare(cfg.setting, [cfg.seed], cache_dir=cfg.cache_dir, progress=progress,
                  download=cfg.download)[0]
    t_eval = time.perf_counter()
    original_metrics = evaluate(art.original_context)
    oracle_metrics = evaluate(art.oracle_context)
    reference_eval_s = time.perf_counter() - t_eval
    result = unlearn_and_evaluate(art, cfg.method, cfg.params, progress)

    record = {
        "paretoul_record": 1,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "config": asdict(cfg),
        "method": {"name": cfg.method, "params": result.params},
        "recipe": art.recipe.to_dict(),
        "device": str(art.device),
        "splits": {
            "sizes": art.splits.sizes(),
            "checksum": art.splits.checksum(),
            "file": "splits.npz",
        },
        "metrics": {
            "original": original_metrics,
            "oracle": oracle_metrics,
            "unlearned": result.metrics,
        },
        "trace": result.trace,
        "cache": {
            name: {"status": tm.cache_status, "key": tm.cache_key, "train_seconds": tm.train_seconds}
            for name, tm in (("original", art.original), ("oracle", art.oracle))
        },
        "timings": {
            "load_s": art.load_seconds,
            "reference_eval_s": reference_eval_s,
            "unlearn_s": result.unlearn_seconds,
            "evaluate_s": result.evaluate_seconds,
            "total_s": time.perf_counter() - t_start,
        },
        "versions": library_versions(),
        "machine": machine_facts(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    art.splits.save(out_dir / "splits.npz")
    if save_model:
        torch.save({k: v.cpu() for k, v in result.model.state_dict().items()}, out_dir / "model.pt")
        record["model_file"] = "model.pt"
    record["out"] = str(out_dir)
    (out_dir / "record.json").write_text(json.dumps(record, indent=2, sort_keys=False))
    return record


__all__ = ["MethodRun", "RunConfig", "library_versions", "run", "unlearn_and_evaluate"]
