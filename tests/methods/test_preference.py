"""Jacobian descent with a preference against the fixed weighting at the same w, the gradient
conflict figures, and the per-sample (rank-calibrated) reference: checked on constructed
Jacobians, constructed losses and constructed confidences, whose answers are known."""

from __future__ import annotations

import pytest
import torch

import paretoul
from paretoul.cli import main
from paretoul.jd import PREFERENCE, ConflictProbe, JacobianDescent, fixed_weights, make_aggregator
from paretoul.methods import UnlearnContext, get_method
from paretoul.methods.losses import rank_calibrated, resolve_reference

WS = (0.1, 0.3, 0.5, 0.8)


def _direction(aggregator: object, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The fast step on losses whose gradients are exactly ``rows`` (L_i = rows_i . theta)."""
    theta = torch.nn.Parameter(torch.zeros(rows.shape[1]))
    jd = JacobianDescent([theta], aggregator)
    weights = jd.step([rows[0] @ theta, rows[1] @ theta])
    return theta.grad.detach().clone(), weights


def _rows(conflict: bool, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a, b = torch.rand(2, 30, generator=g)  # positive entries: a . b > 0
    if conflict:
        b = b - 2.5 * (a @ b) / (a @ a) * a  # now a . b < 0
    return torch.stack([a, b])


@pytest.mark.parametrize("name", ["upgrad", "dualproj"])
def test_without_conflict_the_preference_gives_the_weighted_sum(name: str) -> None:
    rows = _rows(conflict=False)
    assert rows[0] @ rows[1] > 0
    for w in WS:
        direction, weights = _direction(make_aggregator(name, (w, 1 - w)), rows)
        want = w * rows[0] + (1 - w) * rows[1]
        assert torch.allclose(direction, want, atol=1e-6, rtol=0), (name, w)
        if name == "upgrad":
            assert torch.allclose(weights, torch.tensor([w, 1 - w]), atol=1e-6)
        fixed, _ = _direction(fixed_weights((w, 1 - w)), rows)
        assert torch.allclose(fixed, want, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["upgrad", "dualproj"])
def test_with_conflict_the_projection_differs_and_conflicts_with_neither(name: str) -> None:
    rows = _rows(conflict=True)
    assert rows[0] @ rows[1] < 0
    for w in WS:
        direction, _ = _direction(make_aggregator(name, (w, 1 - w)), rows)
        weighted = w * rows[0] + (1 - w) * rows[1]
        assert (direction - weighted).norm() > 1e-3 * weighted.norm()
        cosines = rows @ direction / (rows.norm(dim=1) * direction.norm())
        # DualProj lands on the cone's boundary (a cosine of 0), where torchjd's projector, which
        # regularises the Gramian, leaves it up to 1e-3 short; UPGrad stays strictly inside here
        assert (cosines >= (-1e-6 if name == "upgrad" else -2e-3)).all(), (name, w, cosines)


def test_the_preference_changes_the_direction_and_unset_is_equal_weights() -> None:
    rows = _rows(conflict=True)
    d3, _ = _direction(make_aggregator("upgrad", (0.3, 0.7)), rows)
    d7, _ = _direction(make_aggregator("upgrad", (0.7, 0.3)), rows)
    half, _ = _direction(make_aggregator("upgrad", (0.5, 0.5)), rows)
    default, _ = _direction(make_aggregator("upgrad"), rows)
    assert (d3 - d7).norm() > 1e-3 and torch.allclose(half, default, atol=1e-9)


def test_an_aggregator_without_a_preference_refuses_w(capsys) -> None:
    assert set(PREFERENCE) == {"upgrad", "dualproj", "aligned_mtl", "config"}
    for name in ("mgda", "pcgrad", "imtlg", "mean"):
        with pytest.raises(paretoul.UserError, match=r"w: .*takes no preference") as e:
            get_method("raul").config({"aggregator": name, "w": 0.3})
        assert "\n" not in str(e.value)
    assert main(["run", "--method", "raul", "--param", "aggregator=mgda", "--param", "w=0.3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "param.w" in err[0] and "upgrad" in err[0]
    cfg = get_method("raul").config({"w": "none"})
    assert cfg.w is None and get_method("raul").config({"w": "0.25"}).w == 0.25


def _ctx(art) -> UnlearnContext:
    return UnlearnContext(art.data, art.splits, art.recipe, art.seed, art.new_model)


def test_raul_at_w_equals_scalarized_at_w_when_the_gradients_never_conflict(digits_art, monkeypatch
                                                                           ) -> None:
    """Toy objectives whose gradients are parallel at every step (the forget loss is half the
    retain CE): UPGrad's projection is then the identity, so raul at w = 0.3 takes scalarized's
    weights (0.3, 0.7) at every step and ends at the same model."""
    import torch.nn.functional as F

    def parallel(model, ctx, cfg):
        def losses(m, b, progress):
            xr, yr = b["retain"]  # two forward passes: each loss its own graph, as in raul
            return {"forget": 0.5 * F.cross_entropy(m(xr).float(), yr),
                    "retain": F.cross_entropy(m(xr).float(), yr)}

        return losses

    monkeypatch.setattr("paretoul.methods.raul.alignment_losses", parallel)
    monkeypatch.setattr("paretoul.methods.scalarized.alignment_losses", parallel)
    params = {"w": 0.3, "epochs": 2, "lr": 0.02}
    raul, sc = get_method("raul"), get_method("scalarized")
    a = raul.unlearn(digits_art.original_copy(), _ctx(digits_art), raul.config(params))
    b = sc.unlearn(digits_art.original_copy(), _ctx(digits_art), sc.config(params))
    steps = len(a.trace["jd_weight_forget"])
    assert steps >= 10
    assert a.trace["jd_weight_forget"] == pytest.approx([0.3] * steps, abs=1e-6)
    assert a.trace["jd_weight_retain"] == pytest.approx([0.7] * steps, abs=1e-6)
    assert a.trace["grad_cos"] == pytest.approx([1.0, 1.0], abs=1e-5)
    assert a.trace["grad_conflict"] == b.trace["grad_conflict"] == [0.0, 0.0]
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5), (p - q).abs().max()


def _probe_cos(sign: float) -> dict[str, torch.Tensor]:
    theta = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    loss = (theta ** 2).sum() + theta[0]
    return ConflictProbe([theta], {"forget": 1.0, "retain": sign})({"forget": loss, "retain": loss})


def test_conflict_figures_have_their_known_answers() -> None:
    """Identical objectives: cos 1, no conflict; opposite ones: cos -1, conflict at every step;
    from the Jacobian step's Gramian and from the opt-in probe alike."""
    theta = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    def loss() -> torch.Tensor:  # each call its own graph, as a forget and a retain batch have
        return (theta ** 2).sum() + theta[0]

    for sign, cos, conflict in ((1.0, 1.0, 0.0), (-1.0, -1.0, 1.0)):
        jd = JacobianDescent([theta], fixed_weights((0.5, 0.5)))
        jd.step([loss(), sign * loss()])
        assert jd.cosine.item() == pytest.approx(cos, abs=1e-6)
        probe = _probe_cos(sign)
        assert probe["grad_cos"].item() == pytest.approx(cos, abs=1e-6)
        assert probe["grad_conflict"].item() == conflict
    zero = torch.nn.Parameter(torch.zeros(3))
    jd = JacobianDescent([zero], fixed_weights((0.5, 0.5)))
    jd.step([(zero ** 2).sum(), zero.sum()])  # the first gradient is 0: cosine 0, not NaN
    assert jd.cosine.item() == 0.0


def test_neggrad_plus_probe_is_opt_in_and_fills_the_trace(digits_art) -> None:
    m = get_method("neggrad_plus")
    off = m.unlearn(digits_art.original_copy(), _ctx(digits_art), m.config({"epochs": 1}))
    on = m.unlearn(digits_art.original_copy(), _ctx(digits_art),
                   m.config({"epochs": 2, "probe_every": 2}))
    assert "grad_cos" not in off.trace
    assert len(on.trace["grad_cos"]) == 2 and all(-1 <= c <= 1 for c in on.trace["grad_cos"])
    assert all(0 <= c <= 1 for c in on.trace["grad_conflict"])


def test_rank_calibrated_targets_take_the_reference_distribution_in_the_original_order() -> None:
    g = torch.Generator().manual_seed(1)
    n, k = 40, 6
    probs = torch.softmax(3 * torch.randn(n, k, generator=g), dim=1)
    labels = torch.randint(0, k, (n,), generator=g)
    ref = torch.rand(n, generator=g) * 0.8 + 0.1
    target = rank_calibrated(probs, labels, ref)
    rows = torch.arange(n)
    conf, new = probs[rows, labels], target[rows, labels]
    assert torch.allclose(torch.sort(new).values, torch.sort(ref).values)  # the reference's values
    assert torch.equal(torch.argsort(new, stable=True), torch.argsort(conf, stable=True))  # the order
    assert torch.allclose(target.sum(1), torch.ones(n), atol=1e-6)
    others, kept = target.clone(), probs.clone()
    others[rows, labels] = kept[rows, labels] = 0
    assert torch.allclose(others / others.sum(1, keepdim=True), kept / kept.sum(1, keepdim=True),
                          atol=1e-6)  # the other classes keep the original's proportions
    # a reference set of another size: the values are its empirical quantiles, still in order
    few = torch.tensor([0.2, 0.5, 0.9])
    t3 = rank_calibrated(probs, labels, few)[rows, labels]
    assert set(t3.tolist()) <= set(few.tolist())
    assert (t3[torch.argsort(conf)].diff() >= 0).all()


def test_auto_reference_fits_the_forget_scenario(digits_art) -> None:
    from dataclasses import replace

    assert resolve_reference("auto", digits_art.splits) == "rank-calibrated"  # random:0.1
    whole_class = replace(digits_art.splits, forget_spec="class:3")
    assert resolve_reference("auto", whole_class) == "uniform"
    assert resolve_reference("empirical-class", whole_class) == "empirical-class"
