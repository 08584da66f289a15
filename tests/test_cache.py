from __future__ import annotations

import logging

import pytest
import torch

from paretoul import ArtefactCache

SPEC = {"dataset": "digits", "model": "mlp", "seed": 0}


def _builder(calls: list[int]):
    def build():
        calls.append(1)
        return {"w": torch.arange(1000, dtype=torch.float32)}, {"train_seconds": 1.0}

    return build


def test_miss_then_hit(tmp_path) -> None:
    cache, calls = ArtefactCache(tmp_path), []
    a = cache.get_or_build("original", SPEC, _builder(calls))
    b = cache.get_or_build("original", SPEC, _builder(calls))
    assert (a.status, b.status) == ("miss", "hit")
    assert len(calls) == 1
    assert torch.equal(b.state["w"], a.state["w"]) and b.meta["train_seconds"] == 1.0


def test_key_depends_on_every_spec_field(tmp_path) -> None:
    cache, calls = ArtefactCache(tmp_path), []
    cache.get_or_build("original", SPEC, _builder(calls))
    for change in ({"seed": 1}, {"model": "cnn"}, {"dataset": "cifar10"}):
        assert cache.get_or_build("original", {**SPEC, **change}, _builder(calls)).status == "miss"
    assert cache.get_or_build("oracle", SPEC, _builder(calls)).status == "miss"  # kind matters
    assert len(calls) == 5


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete_pt", "garble_sidecar"])
def test_corruption_is_detected_reported_and_rebuilt(tmp_path, caplog, damage: str) -> None:
    cache, calls = ArtefactCache(tmp_path), []
    cache.get_or_build("original", SPEC, _builder(calls))
    pt, side = cache.paths("original", SPEC)
    if damage == "truncate":
        pt.write_bytes(pt.read_bytes()[: pt.stat().st_size // 2])
    elif damage == "flip":
        blob = bytearray(pt.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        pt.write_bytes(bytes(blob))
    elif damage == "delete_pt":
        pt.unlink()
    else:
        side.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="paretoul"):
        entry = cache.get_or_build("original", SPEC, _builder(calls))
    assert entry.status == "rebuilt"
    assert len(calls) == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "rebuilding" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    if damage in ("truncate", "flip"):
        expected = "truncated" if damage == "truncate" else "checksum mismatch"
        assert expected in warnings[0].getMessage()
    # and the rebuilt entry is good again
    assert cache.get_or_build("original", SPEC, _builder(calls)).status == "hit"


def test_checkpoints_hold_only_tensors(tmp_path) -> None:
    cache = ArtefactCache(tmp_path)
    cache.get_or_build("original", SPEC, _builder([]))
    pt, _ = cache.paths("original", SPEC)
    state = torch.load(pt, weights_only=True)  # loads under the safe unpickler
    assert set(state) == {"w"}
