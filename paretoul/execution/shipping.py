"""Shipping a setting's trained models to Ray workers: the driver puts the original's and the
oracle's weights of every seed into one :class:`SharedSetting` (through Ray's object store,
``tune.with_parameters`` or ``ray.put``); a worker reloads the data, re-derives the splits
deterministically and keeps the rebuilt :class:`~paretoul.artefacts.Artefacts` for later trials
(Ray reuses its worker processes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paretoul.artefacts import Artefacts, TrainedModel, load_setting, recipe_of
from paretoul.device import resolve_device
from paretoul.models import build_model
from paretoul.setting import Setting


@dataclass
class SharedSetting:
    """What every trial of a study (or task of an audit) shares, in a form Ray can ship to any
    node: the setting and each seed's original and oracle states."""

    setting: Setting
    cpus: float
    timeout_s: float | None = None
    """Per-trial wall-clock limit (the spec's ``trial_timeout_s``)."""
    states: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """seed -> {"original"|"oracle": {"state", "train_seconds", "key"}} (see :func:`shipped_states`)."""

    @property
    def seeds(self) -> list[int]:
        return sorted(self.states)


def shipped_states(art: Artefacts) -> dict[str, dict[str, Any]]:
    """The model states of ``art`` in the form :func:`from_states` takes (CPU tensors)."""
    return {
        kind: {"state": {k: v.detach().cpu() for k, v in tm.model.state_dict().items()},
               "train_seconds": tm.train_seconds, "key": tm.cache_key}
        for kind, tm in (("original", art.original), ("oracle", art.oracle))
    }


def from_states(setting: Setting, seed: int, states: dict[str, dict[str, Any]]) -> Artefacts:
    """Rebuild :class:`~paretoul.artefacts.Artefacts` from shipped model states (on a worker).

    ``states`` maps ``original`` and ``oracle`` to ``{"state": state_dict, "train_seconds": s,
    "key": cache key}``; data and splits are reloaded and re-derived deterministically.
    """
    dev = resolve_device(setting.device)
    data, splits, load_seconds = load_setting(setting, seed, dev)
    trained = {}
    for kind in ("original", "oracle"):
        s = states[kind]
        m = build_model(setting.model, data.input_shape, data.num_classes).to(dev)
        m.load_state_dict(s["state"])
        m.eval()
        trained[kind] = TrainedModel(m, "shipped", s.get("key", ""), float(s["train_seconds"]), None)
    return Artefacts(setting, seed, data, splits, recipe_of(setting), trained["original"],
                     trained["oracle"], load_seconds)


_WORKER_CACHE: dict[tuple, list[Artefacts]] = {}


def artefacts_of(shared: SharedSetting) -> list[Artefacts]:
    """The setting's artefacts, one per seed in seed order, rebuilt once per worker process
    (the last setting only: a worker moving to another study frees the previous one)."""
    key = (shared.setting, tuple((s, shared.states[s]["original"]["key"]) for s in shared.seeds))
    if key not in _WORKER_CACHE:
        _WORKER_CACHE.clear()
        _WORKER_CACHE[key] = [from_states(shared.setting, seed, shared.states[seed])
                              for seed in shared.seeds]
    return _WORKER_CACHE[key]
