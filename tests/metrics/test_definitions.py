"""Every metric formula on constructed outputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from paretoul import METRICS, Splits, evaluate
from paretoul.metrics import EvalContext, Outputs, js_divergence

K = 4


def _onehot(labels: list[int], conf: float = 0.97) -> torch.Tensor:
    p = torch.full((len(labels), K), (1 - conf) / (K - 1))
    p[torch.arange(len(labels)), torch.tensor(labels)] = conf
    return p


def _setup(forget_correct: int, ref_correct: int, retain_correct: int, test_correct: int):
    """10 forget, 10 reference, 20 retain, 20 test samples with chosen numbers correct."""
    train_y = torch.tensor([i % K for i in range(40)])
    test_y = torch.tensor([i % K for i in range(20)])
    splits = Splits(
        reference=np.arange(10, 20), forget=np.arange(0, 10), retain=np.arange(20, 40),
        test=np.arange(20), seed=0, forget_spec="random:10", reference_fraction=0.1,
    )

    def preds(labels: torch.Tensor, correct: int) -> list[int]:
        return [int(y) if i < correct else (int(y) + 1) % K for i, y in enumerate(labels)]

    train_pred = (
        preds(train_y[:10], forget_correct) + preds(train_y[10:20], ref_correct)
        + preds(train_y[20:], retain_correct)
    )
    return Outputs(_onehot(train_pred), _onehot(preds(test_y, test_correct))), train_y, test_y, splits


def _ctx(counts, oracle=None, runtime=None):
    out, ty, tey, splits = _setup(*counts)
    return EvalContext(out, ty, tey, splits, oracle=oracle, runtime_s=runtime)


def test_accuracy_metrics() -> None:
    m = evaluate(_ctx((7, 9, 18, 15), runtime=1.5))
    assert m["ua"] == pytest.approx(30.0)
    assert m["ra"] == pytest.approx(90.0)
    assert m["ta"] == pytest.approx(75.0)
    assert m["ref_acc_gap"] == pytest.approx(20.0)
    assert m["rte"] == 1.5
    assert "avg_gap" not in m  # needs the oracle


def test_gaps_against_the_oracle() -> None:
    oracle = _ctx((5, 5, 20, 16))
    ctx = _ctx((8, 9, 18, 15), oracle=oracle)
    fns = {n: METRICS.get(n).fn for n in ("ua", "ra", "ta", "mia")}
    d = {n: abs(f(ctx) - f(oracle)) for n, f in fns.items()}
    m = evaluate(ctx)
    assert d["ua"] == pytest.approx(30.0) and d["ra"] == pytest.approx(10.0)
    assert d["ta"] == pytest.approx(5.0)
    assert m["forget_gap"] == pytest.approx((d["ua"] + d["mia"]) / 2)
    assert m["retain_gap"] == pytest.approx((d["ra"] + d["ta"]) / 2)
    assert m["avg_gap"] == pytest.approx(sum(d.values()) / 4)
    assert m["avg_gap"] == pytest.approx((m["forget_gap"] + m["retain_gap"]) / 2)


def test_js_is_zero_for_identical_outputs_and_ln2_for_disjoint() -> None:
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    q = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    js = js_divergence(p, q)
    assert js[0].item() == pytest.approx(math.log(2), abs=1e-6)
    assert js[1].item() == pytest.approx(0.0, abs=1e-12)
    ctx = _ctx((8, 9, 18, 15))
    ctx.oracle = ctx
    m = evaluate(ctx)
    assert m["js_forget"] == pytest.approx(0.0, abs=1e-12) and m["avg_gap"] == 0.0


def test_js_forget_known_value() -> None:
    oracle = _ctx((10, 10, 20, 20))
    ctx = _ctx((0, 10, 20, 20), oracle=oracle)  # every forget prediction moved to another class
    p, q = ctx.probs("forget"), oracle.probs("forget")
    m = 0.5 * (p + q)
    expected = float((0.5 * (p * (p / m).log()).sum(1) + 0.5 * (q * (q / m).log()).sum(1)).mean())
    assert evaluate(ctx, ["js_forget"])["js_forget"] == pytest.approx(expected)
    assert evaluate(ctx, ["js_test"])["js_test"] == pytest.approx(0.0, abs=1e-9)


def test_reference_auc_and_gap() -> None:
    # forget all correct and confident, reference all wrong: the attack separates them fully.
    ctx = _ctx((10, 0, 20, 20))
    m = evaluate(ctx)
    assert m["ref_mia_auc"] == 1.0
    assert m["ref_acc_gap"] == 100.0
    assert m["ref_gap"] == pytest.approx((100.0 + 50.0) / 2)


def test_asking_for_an_oracle_metric_without_oracle_fails() -> None:
    with pytest.raises(ValueError, match="oracle"):
        evaluate(_ctx((1, 1, 1, 1)), ["avg_gap"])


def test_every_metric_has_a_direction_and_summary() -> None:
    for name in METRICS:
        m = METRICS.get(name)
        assert m.direction in ("min", "max", "match") and m.summary
    assert {"ua", "ra", "ta", "mia", "avg_gap", "js_forget", "js_test", "rte", "ref_acc_gap",
            "ref_mia_auc", "forget_gap", "retain_gap"} <= set(METRICS.names())


def test_reference_proxies_use_reference_samples_of_the_forgotten_classes() -> None:
    out, train_y, test_y, _ = _setup(0, 10, 20, 20)  # forget all wrong, reference all right
    splits = Splits(
        reference=np.arange(10, 20), forget=np.array([0, 4, 8]),  # class 0 only
        retain=np.setdiff1d(np.arange(40), np.r_[0, 4, 8, 10:20]), test=np.arange(20), seed=0,
        forget_spec="class:0", reference_fraction=0.1,
    )
    ctx = EvalContext(out, train_y, test_y, splits)
    matched = ctx.labels("matched_reference")
    assert matched.tolist() == [0, 0]  # samples 12 and 16
    assert evaluate(ctx, ["ref_acc_gap"])["ref_acc_gap"] == 100.0


def test_reference_metrics_are_skipped_without_a_reference_set() -> None:
    out, train_y, test_y, _ = _setup(5, 5, 20, 20)
    splits = Splits(reference=np.array([], dtype=np.int64), forget=np.arange(0, 10),
                    retain=np.arange(10, 40), test=np.arange(20), seed=0, forget_spec="random:10",
                    reference_fraction=0.0)
    ctx = EvalContext(out, train_y, test_y, splits)
    m = evaluate(ctx)
    assert not {"ref_acc_gap", "ref_mia_auc", "ref_gap"} & set(m)
    assert all(np.isfinite(v) for v in m.values())
    with pytest.raises(ValueError, match="reference set"):
        evaluate(ctx, ["ref_gap"])


def _classwise(test_pred: list[int], train_pred: list[int] | None = None):
    """Class-wise forgetting of class 1 on K=4 classes: train ids 0..39 (label i % 4), the
    forget set = the train part's class-1 samples, test ids 0..19 (label i % 4)."""
    train_y = torch.tensor([i % K for i in range(40)])
    test_y = torch.tensor([i % K for i in range(20)])
    forget = np.array([i for i in range(40) if i % K == 1 and i >= 8])
    reference = np.arange(0, 8)
    retain = np.array([i for i in range(8, 40) if i % K != 1])
    splits = Splits(reference=reference, forget=forget, retain=retain, test=np.arange(20),
                    seed=0, forget_spec="class:1", reference_fraction=0.2)
    train_pred = train_pred if train_pred is not None else train_y.tolist()
    return EvalContext(Outputs(_onehot(train_pred), _onehot(test_pred)), train_y, test_y, splits)


def test_class_wise_ta_ta_forgotten_and_the_mia_non_members() -> None:
    test_y = [i % K for i in range(20)]
    # An oracle-like model: every retained-class test sample right, every class-1 one wrong.
    oracle_like = [y if y != 1 else 2 for y in test_y]
    ctx = _classwise(oracle_like)
    assert ctx.splits.forgotten_classes == (1,)
    m = evaluate(ctx)
    assert m["ta"] == pytest.approx(100.0)  # 15 retained-class test samples, all right
    assert m["ta_forgotten"] == pytest.approx(0.0)  # 5 forgotten-class test samples, all wrong
    assert len(ctx.labels("test")) == 15 and 1 not in ctx.labels("test").tolist()
    assert ctx.labels("test_forgotten").tolist() == [1] * 5
    # The MIA's non-members are the retained-class test samples only.
    assert len(ctx.confidence("test")) == 15
    # One retained-class test sample wrong: TA over the 15 retained-class samples, not all 20.
    one_wrong = list(oracle_like)
    one_wrong[0] = 3
    assert evaluate(_classwise(one_wrong))["ta"] == pytest.approx(100.0 * 14 / 15)
    # A model that still knows class 1 on the test set.
    assert evaluate(_classwise(test_y))["ta_forgotten"] == pytest.approx(100.0)


def test_class_wise_retain_gap_uses_the_retained_class_ta() -> None:
    test_y = [i % K for i in range(20)]
    oracle = _classwise([y if y != 1 else 2 for y in test_y])
    oracle.oracle = oracle
    remembers = _classwise(test_y)  # right on class 1 too: TA (retained classes) is the same
    remembers.oracle = oracle
    m = evaluate(remembers)
    assert m["retain_gap"] == pytest.approx(0.0)
    assert m["ta_forgotten"] == pytest.approx(100.0)


def test_random_forgetting_has_no_ta_forgotten() -> None:
    m = evaluate(_ctx((7, 9, 18, 15)))
    assert "ta_forgotten" not in m
    with pytest.raises(ValueError, match="class-wise"):
        evaluate(_ctx((7, 9, 18, 15)), ["ta_forgotten"])
