"""Baselines against their reference code (the SalUn repository, OPTML-Group/Unlearn-Saliency).

The reference's rules are ported here, in the test, line for line from
``Classification/unlearn/RL.py`` (CIFAR-10 branch, commit a6e89fd "Fix weight decay (#33)")
and ``Classification/generate_mask.py``, and run from the same state on the same batches as
paretoul's methods.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from paretoul.data.batching import minibatches
from paretoul.methods import UnlearnContext, get_method
from paretoul.methods.salun import saliency_mask
from paretoul.streams import torch_stream
from paretoul.training import Paired, Sequential, Source


def _ctx(art) -> UnlearnContext:
    return UnlearnContext(art.data, art.splits, art.recipe, art.seed, art.new_model)


def _reference_mask(model, data, forget_idx, batch_size: int, ratio: float) -> dict[str, torch.Tensor]:
    """``generate_mask.save_gradient_ratio`` on an unshuffled forget loader."""
    gradients = {name: 0 for name, _ in model.named_parameters()}
    model.eval()
    for i in range(0, len(forget_idx), batch_size):
        idx = forget_idx[i : i + batch_size]
        loss = -F.cross_entropy(model(data.train_x[idx]), data.train_y[idx])
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for name, param in model.named_parameters():
                if param.grad is not None:
                    gradients[name] += param.grad.data
    gradients = {name: torch.abs_(g) for name, g in gradients.items()}
    all_elements = -torch.cat([t.flatten() for t in gradients.values()])
    threshold_index = int(len(all_elements) * ratio)
    ranks = torch.argsort(torch.argsort(all_elements))
    hard, start = {}, 0
    for key, tensor in gradients.items():
        r = ranks[start : start + tensor.numel()]
        hard[key] = (r < threshold_index).to(tensor.dtype).reshape(tensor.shape)
        start += tensor.numel()
    return hard


def _reference_rl(model, data, ctx, cfg, mask: dict[str, torch.Tensor] | None) -> None:
    """The reference's RL loop (CIFAR-10 branch) with its mask handling, for ``cfg.epochs``;
    batches and random labels drawn from the same streams paretoul's ``ctx`` gives."""
    k = data.num_classes
    optimizer = torch.optim.SGD(model.parameters(), cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay)
    order_f, order_r = ctx.stream("order:forget"), ctx.stream("order:retain")
    labels = ctx.stream("labels")
    forget = torch.as_tensor(ctx.splits.forget)
    retain = torch.as_tensor(ctx.splits.retain)

    def apply_mask_to_grads() -> None:
        for name, param in model.named_parameters():
            if param.grad is not None:
                param.grad *= mask[name]

    def restore_masked_params(theta0) -> None:
        with torch.no_grad():
            for name, param in model.named_parameters():
                m = mask[name].to(device=param.device, dtype=param.dtype)
                inv = 1 - m
                if torch.count_nonzero(inv) == 0:
                    continue
                param.data.mul_(m).add_(theta0[name] * inv)
                state = optimizer.state.get(param, None)
                if state is not None and "momentum_buffer" in state:
                    state["momentum_buffer"].mul_(m)

    for _epoch in range(cfg.epochs):
        theta0 = {n: p.detach().clone() for n, p in model.named_parameters()} if mask else None
        model.train()
        for part, order, relabel in ((forget, order_f, True), (retain, order_r, False)):
            for b in minibatches(len(part), cfg.batch_size, order, data.device):
                idx = part[b]
                image, target = data.train_x[idx], data.train_y[idx]
                if relabel:
                    target = torch.randint(0, k, target.shape, generator=labels)
                loss = F.cross_entropy(model(image), target)
                optimizer.zero_grad()
                loss.backward()
                if mask:
                    apply_mask_to_grads()
                optimizer.step()
                if mask:
                    restore_masked_params(theta0)


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_salun_mask_is_the_reference_mask(digits_art) -> None:
    art = digits_art
    ours = saliency_mask(art.original_copy(), _ctx(art), 0.3, 64)
    ref = _reference_mask(art.original_copy(), art.data, torch.as_tensor(art.splits.forget), 64, 0.3)
    for m, (name, r) in zip(ours, ref.items(), strict=True):
        assert torch.equal(m, r.bool()), name


@pytest.mark.parametrize("method", ["salun", "rl"])
def test_update_rule_matches_the_reference_code(digits_art, method: str) -> None:
    # Same start, same batches, same labels: the weights agree after 2 epochs of the reference's
    # rule (masked gradient, masked-out weights reset and momentum zeroed after each step).
    art = digits_art
    ctx = _ctx(art)
    m = get_method(method)
    cfg = m.config({"epochs": 2, "lr": 0.02, "weight_decay": 5e-3})
    ours = m.unlearn(art.original_copy(), ctx, cfg).model
    reference = art.original_copy()
    mask = None
    if method == "salun":
        mask = _reference_mask(art.original_copy(), art.data, torch.as_tensor(art.splits.forget),
                               cfg.batch_size, cfg.mask_ratio)
    _reference_rl(reference, art.data, ctx, cfg, mask)
    for (name, p), q in zip(reference.named_parameters(), ours.parameters(), strict=True):
        assert torch.allclose(p, q, rtol=0, atol=1e-6), name
    assert not _same(ours, art.original.model)


def test_masked_out_weights_never_move_under_weight_decay_and_momentum(digits_art) -> None:
    art = digits_art
    m = get_method("salun")
    cfg = m.config({"epochs": 2, "lr": 0.05, "weight_decay": 5e-3, "momentum": 0.9,
                    "mask_ratio": 0.3})
    masks = saliency_mask(art.original_copy(), _ctx(art), cfg.mask_ratio, cfg.batch_size)
    res = m.unlearn(art.original_copy(), _ctx(art), cfg)
    moved_in = frozen_out = total_out = 0
    for p, p0, mk in zip(res.model.parameters(), art.original.model.parameters(), masks, strict=True):
        out = ~mk
        total_out += int(out.sum())
        frozen_out += int((p[out] == p0[out]).sum())  # bit-identical, not merely close
        moved_in += int((p[mk] != p0[mk]).sum())
    assert total_out > 0 and frozen_out == total_out
    assert moved_in > 0.5 * sum(int(mk.sum()) for mk in masks)


def test_sequential_visits_each_forget_sample_once_per_epoch(digits_art) -> None:
    art = digits_art
    data = dataclasses.replace(art.data, train_y=torch.arange(len(art.data.train_y)))  # label = id
    forget = Source(data, art.splits.forget, 16, torch_stream(0, "f"))
    retain = Source(data, art.splits.retain, 64, torch_stream(0, "r"))
    sched = Sequential(forget, retain)
    for epoch in range(3):
        steps = list(sched.epoch(epoch))
        roles = [next(iter(s)) for s in steps]
        n_forget = roles.count("forget")
        assert roles == ["forget"] * n_forget + ["retain"] * (len(roles) - n_forget)  # forget first
        seen_f = torch.cat([s["forget"][1] for s in steps if "forget" in s]).sort().values
        seen_r = torch.cat([s["retain"][1] for s in steps if "retain" in s]).sort().values
        assert torch.equal(seen_f, torch.as_tensor(art.splits.forget))  # each exactly once
        assert torch.equal(seen_r, torch.as_tensor(art.splits.retain))
        assert len(steps) == sched.steps(epoch) == forget.steps + retain.steps
    scrub_like = Sequential(forget, retain, forget_epochs=1)
    assert any("forget" in s for s in scrub_like.epoch(0))
    assert not any("forget" in s for s in scrub_like.epoch(1))


def test_paired_cycles_the_forget_set_beside_one_retain_pass(digits_art) -> None:
    art = digits_art
    data = dataclasses.replace(art.data, train_y=torch.arange(len(art.data.train_y)))  # label = id
    forget = Source(data, art.splits.forget, 64, torch_stream(0, "f"))
    retain = Source(data, art.splits.retain, 64, torch_stream(0, "r"))
    steps = list(Paired(forget, retain).epoch(0))
    assert len(steps) == retain.steps and all(set(s) == {"forget", "retain"} for s in steps)
    seen = torch.cat([s["forget"][1] for s in steps])
    counts = torch.bincount(seen, minlength=len(data.train_y))[torch.as_tensor(art.splits.forget)]
    passes = len(steps) // forget.steps  # the forget set is cycled, reshuffled at each pass
    assert passes >= 2 and int(counts.min()) >= passes and int(counts.max()) <= passes + 1


def test_l1_sparse_draws_no_forget_batch(digits_art, monkeypatch) -> None:
    drawn: list[str] = []
    original = UnlearnContext.source

    def spy(self, part, batch_size):
        drawn.append(part)
        return original(self, part, batch_size)

    monkeypatch.setattr(UnlearnContext, "source", spy)
    m = get_method("l1_sparse")
    m.unlearn(digits_art.original_copy(), _ctx(digits_art), m.config({"epochs": 1}))
    assert drawn == ["retain"]


@pytest.mark.parametrize("draw", ["any", "other"])
def test_random_labels_draw_as_documented(draw: str) -> None:
    from paretoul.methods._relabel import random_labels

    y = torch.zeros(20000, dtype=torch.long)
    labels = random_labels(y, 10, torch_stream(0, "t"), draw)
    frac_true = float((labels == y).float().mean())
    if draw == "any":
        assert frac_true == pytest.approx(0.1, abs=0.01)  # torch.randint(0, K), as the reference
    else:
        assert frac_true == 0.0
    assert set(labels.tolist()) == (set(range(10)) if draw == "any" else set(range(1, 10)))
