from __future__ import annotations

import numpy as np
import pytest

from paretoul import ForgetSpec, UserError, make_splits
from paretoul.data import Splits

Y = np.repeat(np.arange(10), 100)  # 1,000 train samples, 100 per class


def test_sizes_follow_the_protocol() -> None:
    s = make_splits(Y, n_test=200, forget="random:0.1", seed=0)
    assert len(s.reference) == 100  # 10% of each class
    assert all(np.sum(Y[s.reference] == c) == 10 for c in range(10))
    assert len(s.forget) == 90  # 10% of the 900-sample train part
    assert len(s.retain) == 810
    assert len(s.test) == 200
    assert s.sizes() == {"reference": 100, "forget": 90, "retain": 810, "test": 200}


def test_sets_are_disjoint_and_partition_train() -> None:
    s = make_splits(Y, 200, "random:0.5", seed=3)
    assert not set(s.reference) & set(s.forget)
    assert not set(s.reference) & set(s.retain)
    assert not set(s.forget) & set(s.retain)
    assert sorted(np.concatenate([s.reference, s.forget, s.retain])) == list(range(len(Y)))
    np.testing.assert_array_equal(s.train, np.sort(np.concatenate([s.forget, s.retain])))


def test_deterministic_from_seed_and_seed_matters() -> None:
    a = make_splits(Y, 200, "random:0.1", seed=7)
    b = make_splits(Y, 200, "random:0.1", seed=7)
    c = make_splits(Y, 200, "random:0.1", seed=8)
    assert a.checksum() == b.checksum()
    np.testing.assert_array_equal(a.forget, b.forget)
    assert a.checksum() != c.checksum()
    assert not np.array_equal(a.forget, c.forget)


def test_reference_set_does_not_depend_on_forget_spec() -> None:
    a = make_splits(Y, 200, "random:0.1", seed=1)
    b = make_splits(Y, 200, "class:3", seed=1)
    np.testing.assert_array_equal(a.reference, b.reference)
    np.testing.assert_array_equal(a.train, b.train)


def test_count_and_class_forgetting() -> None:
    s = make_splits(Y, 200, "random:37", seed=0)
    assert len(s.forget) == 37
    s = make_splits(Y, 200, "class:2,5", seed=0)
    assert set(Y[s.forget]) == {2, 5}
    assert len(s.forget) == 180  # 90 of each class remain after the reference hold-out
    assert not np.isin(Y[s.retain], [2, 5]).any()


def test_save_and_load_round_trip(tmp_path) -> None:
    s = make_splits(Y, 200, "random:0.2", seed=4)
    s.save(tmp_path / "splits.npz")
    t = Splits.load(tmp_path / "splits.npz")
    assert t.checksum() == s.checksum()
    assert (t.seed, t.forget_spec, t.reference_fraction) == (4, "random:0.2", 0.1)


@pytest.mark.parametrize(
    "spec, match",
    [
        ("random:1.5", "outside"),
        ("random:0", "positive"),
        ("random:0.0", "outside"),
        ("random:-3", "positive"),
        ("random:900", "not smaller"),
        ("class:10", "out of range"),
        ("class:-1", "out of range"),
        ("class:a", "malformed"),
        ("random", "malformed"),
        ("stratified:0.1", "unknown forget kind"),
    ],
)
def test_bad_forget_specs(spec: str, match: str) -> None:
    with pytest.raises(UserError, match=match) as e:
        make_splits(Y, 200, spec, seed=0)
    assert e.value.field == "forget"


def test_percent_form_and_str_round_trip() -> None:
    assert ForgetSpec.parse("random:10%").fraction == pytest.approx(0.1)
    for text in ("random:0.25", "random:12", "class:1,4"):
        assert str(ForgetSpec.parse(text)) == text
