"""Shared artefacts of a run or study: data on the device, splits, original model and oracle.

Prepared once (models come from the content-addressed cache) and reused by every
unlearning run on the same dataset, seed, forget spec, model and recipe.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from paretoul.cache import ArtefactCache, CacheEntry, spec_key
from paretoul.data import DataBundle, ForgetSpec, Splits, check_seed, load_dataset, make_splits
from paretoul.device import resolve_device
from paretoul.errors import UserError
from paretoul.metrics import EvalContext, Outputs, predict
from paretoul.models import MODELS, build_model
from paretoul.setting import Setting
from paretoul.streams import stream_seed
from paretoul.training import Job, Recipe, default_recipe, sgd_train_many

CACHE_FORMAT = 3
"""3: an ``mlp`` trains single-threaded on CPU, alone or in a group (bit-identical either way,
at any thread count; format 2 trained it with the process's threads). 2: the original and the
oracle draw their init, batch order and augmentation from their own streams
(``train:original:*``, ``train:oracle:*``); format 1 shared one generator."""


def data_fingerprint(data: DataBundle) -> str:
    """A cheap content hash of a dataset (labels, shapes and a strided sample of pixels)."""
    h = hashlib.sha256()
    for t in (data.train_x, data.test_x):
        step = max(1, len(t) // 512)
        h.update(str(tuple(t.shape)).encode())
        h.update(t[::step].detach().cpu().float().numpy().tobytes())
    for t in (data.train_y, data.test_y):
        h.update(t.detach().cpu().numpy().astype(np.int64).tobytes())
    return h.hexdigest()[:24]


def _index_digest(idx: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(idx, dtype=np.int64).tobytes()).hexdigest()[:24]


@dataclass
class TrainedModel:
    """A model from the cache with how it was obtained."""

    model: nn.Module
    cache_status: str
    cache_key: str
    train_seconds: float
    final_loss: float | None


@dataclass
class Artefacts:
    """Everything the unlearning runs of one setting share."""

    setting: Setting
    seed: int
    data: DataBundle
    splits: Splits
    recipe: Recipe
    original: TrainedModel
    oracle: TrainedModel
    load_seconds: float
    _contexts: dict[str, EvalContext] = field(default_factory=dict, repr=False)

    @property
    def dataset(self) -> str:
        return self.setting.dataset

    @property
    def model_name(self) -> str:
        return self.setting.model

    @property
    def device(self) -> torch.device:
        return self.data.device

    def new_model(self, init_seed: int) -> nn.Module:
        """A freshly initialised model of the same architecture on the device, its weights drawn
        with ``init_seed``."""
        return build_model(
            self.model_name, self.data.input_shape, self.data.num_classes, seed=init_seed
        ).to(self.device)

    def original_copy(self) -> nn.Module:
        """An independent copy of the original model to unlearn from."""
        return copy.deepcopy(self.original.model)

    def context(self, outputs: Outputs, runtime_s: float | None = None) -> EvalContext:
        """An evaluation context for ``outputs``, compared against the oracle."""
        return EvalContext(
            outputs, self.data.train_y, self.data.test_y, self.splits,
            oracle=self.oracle_context, runtime_s=runtime_s,
        )

    @property
    def oracle_context(self) -> EvalContext:
        if "oracle" not in self._contexts:
            out = predict(self.oracle.model, self.data)
            ctx = EvalContext(
                out, self.data.train_y, self.data.test_y, self.splits,
                runtime_s=self.oracle.train_seconds,
            )
            ctx.oracle = ctx  # the oracle compared with itself: every gap is 0
            self._contexts["oracle"] = ctx
        return self._contexts["oracle"]

    @property
    def original_context(self) -> EvalContext:
        if "original" not in self._contexts:
            out = predict(self.original.model, self.data)
            self._contexts["original"] = self.context(out, runtime_s=self.original.train_seconds)
        return self._contexts["original"]


@dataclass(frozen=True)
class _Wanted:
    """A model trained from scratch for one setting: ``kind`` (``original``, ``oracle``,
    ``retrain-<k>``) on ``indices``, with the streams ``train:<kind>:*`` of ``seed``."""

    kind: str
    indices: np.ndarray
    seed: int
    base_spec: dict[str, Any]

    @property
    def spec(self) -> dict[str, Any]:
        return {**self.base_spec, "indices": _index_digest(self.indices), "n": len(self.indices)}


def _trained(wanted: list[_Wanted], data: DataBundle, model_name: str, recipe: Recipe,
             cache: ArtefactCache, progress: bool) -> list[TrainedModel]:
    """Each wanted model from the cache, or trained now and stored; the missing ones train
    together where they can (:func:`~paretoul.training.sgd_train_many`: bit-for-bit what each
    gets alone, single-threaded)."""
    loaded = [cache.load(w.kind, w.spec) for w in wanted]
    entries: list[CacheEntry | None] = [e for e, _ in loaded]
    todo = [i for i, e in enumerate(entries) if e is None]
    jobs = [Job(build_model(model_name, data.input_shape, data.num_classes,
                            seed=stream_seed(wanted[i].seed, f"train:{wanted[i].kind}:init")).to(data.device),
                wanted[i].indices, wanted[i].seed, f"train:{wanted[i].kind}") for i in todo]
    for i, job, res in zip(todo, jobs, sgd_train_many(jobs, data, recipe, progress=progress), strict=True):
        meta = {"train_seconds": res.seconds, "epoch_losses": res.trace["loss"],
                "trained_with": res.group, "device": str(data.device), "torch": torch.__version__}
        state = job.model.state_dict()
        cache.save(wanted[i].kind, wanted[i].spec, state, meta)
        status = "rebuilt" if loaded[i][1] == "corrupted" else "miss"
        entries[i] = CacheEntry(state, meta, status, spec_key(wanted[i].spec))
    out = []
    for entry in entries:
        assert entry is not None
        model = build_model(model_name, data.input_shape, data.num_classes).to(data.device)
        model.load_state_dict(entry.state)
        model.eval()
        losses = entry.meta.get("epoch_losses") or [None]
        out.append(TrainedModel(model, entry.status, entry.key,
                                float(entry.meta.get("train_seconds", 0.0)), losses[-1]))
    return out


def load_setting(setting: Setting, seed: int, device: torch.device, download: bool = False
                 ) -> tuple[DataBundle, Splits, float]:
    """Data on ``device`` and the splits of ``seed``, with the load time in seconds."""
    data, load_seconds = _load(setting, download, device)
    return data, _splits(data, setting, seed), load_seconds


def _load(setting: Setting, download: bool, device: torch.device) -> tuple[DataBundle, float]:
    t0 = time.perf_counter()
    data = load_dataset(setting.dataset, setting.data_root, download,
                        **dict(setting.dataset_options)).to(device)
    return data, time.perf_counter() - t0


def _splits(data: DataBundle, setting: Setting, seed: int) -> Splits:
    return make_splits(data.train_y.cpu().numpy(), len(data.test_y), ForgetSpec.parse(setting.forget),
                       seed, setting.reference_fraction, data.num_classes)


def recipe_of(setting: Setting) -> Recipe:
    """The training recipe of ``setting``: the dataset's default with the setting's overrides."""
    return default_recipe(setting.dataset).with_overrides(**dict(setting.recipe))


def prepare(setting: Setting, seeds: Sequence[int] = (0,), *, cache_dir: str | Path | None = None,
            progress: bool = False, download: bool = False) -> list[Artefacts]:
    """Load the data, derive the splits of each of ``seeds``, and build or reuse the original
    model and the retrain oracle of each; one :class:`Artefacts` per seed, in order.

    The data is loaded once, and the originals (and the oracles) the cache lacks train together,
    one grouped model per kind, where the model allows it (:mod:`paretoul.training.ensemble`).
    ``download`` fetches a dataset read from files into ``setting.data_root`` first."""
    if not isinstance(setting, Setting):
        raise UserError("setting", f"{setting!r} is not a Setting; give prepare(paretoul.Setting(dataset, "
                        "model, forget, ...), seeds)")
    MODELS.get(setting.model)  # fail on an unknown name before loading anything
    ForgetSpec.parse(setting.forget)
    for seed in seeds:
        check_seed(seed)
    rec = recipe_of(setting)
    dev = resolve_device(setting.device)
    data, load_seconds = _load(setting, download, dev)
    splits = [_splits(data, setting, seed) for seed in seeds]
    wanted = []
    for seed, sp in zip(seeds, splits, strict=True):
        base = _base_spec(setting, data, rec, seed)
        wanted += [_Wanted("original", sp.train, seed, base), _Wanted("oracle", sp.retain, seed, base)]
    trained = _trained(wanted, data, setting.model, rec, ArtefactCache(cache_dir), progress)
    return [Artefacts(setting, seed, data, sp, rec, trained[2 * i], trained[2 * i + 1], load_seconds)
            for i, (seed, sp) in enumerate(zip(seeds, splits, strict=True))]


def _base_spec(setting: Setting, data: DataBundle, recipe: Recipe, seed: int) -> dict[str, Any]:
    """What a model trained for this setting depends on (with its indices: its cache key)."""
    return {"format": CACHE_FORMAT, "dataset": setting.dataset, "data": data_fingerprint(data),
            "model": setting.model, "recipe": recipe.to_dict(), "seed": seed}


def independent_retrains(art: Artefacts, ks: list[int], cache_dir: str | Path | None = None
                         ) -> list[TrainedModel]:
    """Retrains number ``ks`` on ``art``'s retain set: the oracle's recipe, each its own init and
    batch order (streams ``train:retrain-<k>``), cached by content like the oracle (the audits'
    reference models); the missing ones train together where the model allows it."""
    base = _base_spec(art.setting, art.data, art.recipe, art.seed)
    wanted = [_Wanted(f"retrain-{k}", art.splits.retain, art.seed, base) for k in ks]
    return _trained(wanted, art.data, art.model_name, art.recipe, ArtefactCache(cache_dir), False)
