"""The unlearning-challenge score against the reference code (google-deepmind/
unlearning_evaluation @ ffae0ff, metric.py): its published rule ported densely into this test,
and worked examples whose values were produced by running the verbatim metric.py (CPU shim,
``python -O`` because its ``assert thr_eps`` raises on arrays)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from paretoul.audit.score import (
    EPSILON_CAP,
    bucket_points,
    epsilons,
    final_score,
    forget_score,
    logit_scaled_confidence,
    max_epsilon,
)

V = np.arange(10) / 10
W = np.arange(512) / 512


def _reference_epsilon(pos: np.ndarray, neg: np.ndarray, delta: float = 1e-5) -> float:
    """metric.py's ``_get_epsilons`` for one example, every value against every threshold."""
    pos_diff, neg_diff = pos.max() - pos.min(), neg.max() - neg.min()
    largest = pos_diff if pos_diff > neg_diff else neg_diff
    smallest = neg_diff if pos_diff > neg_diff else pos_diff
    with np.errstate(all="ignore"):
        if smallest / largest < 0.01:
            return 50.0
    # _get_double_threshold_rates
    P, Q = (neg, pos) if pos_diff >= neg_diff else (pos, neg)
    lo, hi = P.min() + smallest - 2.0, P.max() + 2.0
    right = np.linspace(lo, hi, num=int(np.ceil((hi - lo) * 100)))
    left = np.concatenate([np.linspace(r - smallest - 2.0, r - smallest + 2.0, num=400) for r in right])
    right = np.repeat(right, 400)

    def pp(c):
        return (left[None, :] <= c[:, None]) & (c[:, None] <= right[None, :])

    rates_d = [pp(P).astype(np.float32).mean(0), (~pp(P)).astype(np.float32).mean(0),
               pp(Q).astype(np.float32).mean(0), (~pp(Q)).astype(np.float32).mean(0)]
    # _get_single_threshold_rates
    both = torch.from_numpy(np.concatenate([pos, neg]))
    t = torch.linspace(both.min(), both.max(), int(torch.ceil((both.max() - both.min()) * 100)))
    t = t.numpy().astype(np.float64)
    rates_s = [(pos[:, None] >= t).astype(np.float32).mean(0), (pos[:, None] < t).astype(np.float32).mean(0),
               (neg[:, None] >= t).astype(np.float32).mean(0), (neg[:, None] < t).astype(np.float32).mean(0)]
    tpr, fnr, fpr, tnr = (np.concatenate([a, b]) for a, b in zip(rates_d, rates_s, strict=True))
    eps = np.zeros(len(tpr), dtype=np.float32)
    eps = np.where(((fpr + fnr) == 0) & ((tpr + tnr) == 2), np.inf, eps)
    eps = np.where((eps == 0) & (fpr * fnr == 0), np.nan, eps)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pairs are dropped below
        computed = np.clip(np.nanmax([np.log(1 - delta - fpr) - np.log(fnr),
                                      np.log(1 - delta - fnr) - np.log(fpr)], axis=0), 0, None)
    eps = np.where(eps == 0, computed, eps)
    eps = eps[~np.isnan(eps)]
    return float(np.clip(np.nanmax(eps), 0, EPSILON_CAP))


def _reference_epsilons(U: np.ndarray, R: np.ndarray) -> list[float]:
    rpos = np.median(R, 0) > np.median(U, 0)
    P, Q = np.where(rpos, R, U), np.where(rpos, U, R)
    return [_reference_epsilon(P[:, i], Q[:, i]) for i in range(U.shape[1])]


@pytest.mark.parametrize(("n", "examples", "seed"), [(10, 30, 0), (32, 8, 1), (7, 20, 2)])
def test_matches_the_reference_rule_on_random_confidences(n, examples, seed) -> None:
    rng = np.random.default_rng(seed)
    shift = rng.uniform(0, 2, examples)
    scale = rng.uniform(0.2, 3, examples)
    R = rng.normal(0, 1, (n, examples))
    U = rng.normal(shift, scale, (n, examples))
    U[:, 0] = R[:, 0]  # one example with identical sets
    U[:, 1] = R[:, 1] + 10  # one fully separated
    assert epsilons(U, R).tolist() == _reference_epsilons(U, R)


# (unlearned, retrained, ε, forget quality) measured by running the verbatim metric.py
WORKED = [
    ("identical, N=10", V, V, 0.0, 1.0),
    ("fully separated, N=10", V + 5, V, 50.0, 0.0),
    ("fully separated, N=512", W + 5, W, 50.0, 0.0),
    ("each set one value, different", np.full(10, 2.0), np.full(10, 1.0), 50.0, 0.0),
    ("one set degenerate (early cap)", np.full(10, 0.45), V, 50.0, 0.0),
    ("shift 0.1, N=10", V + 0.1, V, 0.6930971145629883, 0.5),
    ("shift 0.3, N=10", V + 0.3, V, 1.3862693309783936, 0.25),
    ("shift 0.5, N=10", V + 0.5, V, 1.7917428016662598, 0.125),
    ("shift 0.9, N=10 (largest finite ε)", V + 0.9, V, 2.1972134113311768, 0.0625),
    ("shift 0.95, N=10", V + 0.95, V, 50.0, 0.0),
    ("shift 0.1, N=512", W + 0.1, W, 3.9511451721191406, 0.0078125),
    ("shift 0.5, N=512", W + 0.5, W, 5.549056053161621, 0.00048828125),
]


@pytest.mark.parametrize(("u", "r", "eps", "quality"), [w[1:] for w in WORKED], ids=[w[0] for w in WORKED])
def test_worked_examples_of_the_reference(u, r, eps, quality) -> None:
    s = forget_score(u[:, None], r[:, None])
    assert float(s.epsilons[0]) == eps and s.forget_quality == quality


def test_the_final_score_of_a_constructed_audit() -> None:
    U = np.stack([V, V + 0.1, V + 0.3, V + 5], axis=1)
    R = np.stack([V] * 4, axis=1)
    s = forget_score(U, R)
    assert s.forget_quality == 0.4375  # points 1 + 1/2 + 1/4 + 0 over 4 examples
    assert final_score(s.forget_quality, [91], [95], [81], [85]) == 0.39935758513931885
    assert s.histogram() == [(0.0, 1), (0.5, 1), (1.0, 1), (1.5, 0), (2.0, 0), (2.5, 0), (3.0, 1)]
    assert s.mean_epsilon == pytest.approx((0 + 0.6930971145629883 + 1.3862693309783936 + 50) / 4)


def test_buckets_stop_where_n_models_stop_resolving() -> None:
    assert max_epsilon(512) == 7 and len(bucket_points(512)) == 14 and bucket_points(512)[-1] == 2**-13
    assert max_epsilon(10) == 3 and bucket_points(10) == [1, 0.5, 0.25, 0.125, 0.0625, 0.03125]
    assert bucket_points(2) == []  # ln(1) = 0: two models resolve nothing, every score is 0


def test_where_the_reference_gives_no_answer() -> None:
    one = np.ones((10, 1))
    assert epsilons(one, one).tolist() == [0.0]  # the reference fails: every rule dropped
    with pytest.raises(ValueError, match="NaN or infinite"):
        epsilons(np.full((10, 1), np.nan), one)
    with pytest.raises(ValueError, match="one shape"):
        epsilons(np.ones((10, 2)), one)


def test_logit_scaled_confidence_as_the_reference() -> None:
    logits = np.array([[2.0, 1, 0], [0, 0, 0], [1000, 0, 0], [0, 50, 0]])
    got = logit_scaled_confidence(logits, np.array([0, 2, 0, 0]))
    assert got.tolist() == [0.6867383124817771, -0.6931471805599454, 103.61632918473205, -50.0]
    assert logits[2, 0] == 1000  # the caller's array is not modified (the reference does modify it)
