"""The report's figures read cleanly: no two labels, legend entries or tick labels overlap
(their extents as matplotlib draws them), nothing the figure shows is clipped at the axes, and
the zoomed panel holds the candidates' region. Drawn from constructed data that crowds them: a
front of close w points, markers at the origin and beside it, a dozen arms in the legend."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.legend import Legend
from matplotlib.text import Text

from paretoul.report import plots as P
from paretoul.report.data import method_gap_bars


def _boxes(fig) -> list[tuple[str, object]]:
    """Every visible, non-empty text's extent, and every legend handle's, in display units."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_window_extent(renderer).width > 0:
            out.append((f"text {t.get_text()!r}", t.get_window_extent(renderer)))
    for legend in fig.findobj(Legend):
        for h in legend.legend_handles:  # a line's extent (a marker's is not reported)
            box = h.get_window_extent(renderer)
            if np.isfinite([box.x0, box.x1, box.y0, box.y1]).all():
                out.append((f"handle {h.get_label()!r}", box))
    return out


def _overlaps(fig) -> list[tuple[str, str]]:
    return [(a, b) for (a, p), (b, q) in itertools.combinations(_boxes(fig), 2) if p.overlaps(q)]


def _arms(n: int, rng: np.random.Generator) -> dict:
    arms = {}
    for k in range(n):
        pts = (rng.random((6, 2)) * [30, 8]).tolist()
        arms[f"a-rather-long-arm-name-{k}"] = {"method": "scalarized-search", "points": pts,
                                               "std": [[0.2, 0.1]] * 6, "front": sorted(pts)[:3]}
    return arms


@pytest.mark.parametrize("n_arms", [3, 12])
def test_the_scatter_has_no_overlapping_labels_and_zooms_on_the_candidates(n_arms) -> None:
    rng = np.random.default_rng(n_arms)
    d = {"objectives": ["forget_gap", "retain_gap"], "directions": ["min", "min"],
         "arms": _arms(n_arms, rng), "overall_front": [[0.4, 5.0], [1.8, 1.1], [4.5, 0.2]],
         "baselines": {"original": [3.3, 0.0], "oracle": [0.0, 0.0]}, "chosen": [1.8, 1.1],
         "chosen_label": "knee: scalarized-search#17"}
    fig = P.scatter_figure(d)
    assert _overlaps(fig) == []
    full, zoom = fig.axes[:2]
    x_max, y_max = P.zoom_box(d)
    assert zoom.get_xlim() == pytest.approx((-0.04 * x_max, x_max))
    pts = np.array([p for a in d["arms"].values() for p in a["points"]])
    inside = (pts[:, 0] <= x_max) & (pts[:, 1] <= y_max)
    assert 0 < inside.sum() < len(pts)  # a real zoom: some trials, not all
    for ax in (full, zoom):  # the oracle's marker at the origin sits inside the axes, not on them
        assert ax.get_xlim()[0] < 0 and ax.get_ylim()[0] < 0


def test_the_w_labels_of_a_crowded_front_do_not_overlap() -> None:
    # five fixed-weight points close together, as a w grid on digits gives them
    fixed = [{"w": w, "point": [1.0 + 0.02 * i, 0.30 - 0.003 * i], "arm": "fw"}
             for i, w in enumerate([0.1, 0.3, 0.5, 0.7, 0.9])]
    jd = [{"w": p["w"], "point": [p["point"][0] - 0.02, p["point"][1] + 0.01], "arm": "jd",
           "reference": "auto"} for p in fixed]
    d = {"objectives": ["forget_gap", "retain_gap"], "fixed": fixed, "jd": jd,
         "jd_front": [p["point"] for p in jd], "fixed_front": [p["point"] for p in fixed],
         "design": "paired by w", "name": "at each w", "original": [3.2, 0.0]}
    fig = P.jd_vs_fixed_figure(d)
    labels = [t for t in fig.axes[0].texts if t.get_text().startswith("w=")]
    assert len(labels) == 5
    assert _overlaps(fig) == []
    legend = fig.axes[0].get_legend().get_texts()
    assert {"JD front", "fixed-weight front"} <= {t.get_text() for t in legend}  # both fronts


def test_the_method_bars_show_distances_to_the_oracle() -> None:
    rows = [{"method": "original", "n_seeds": 3, "ua": 0.0, "ra": 100.0, "ta": 96.0, "mia": 2.0,
             "avg_gap": 3.0, "ua_std": 0.0},
            {"method": "oracle", "n_seeds": 3, "ua": 4.0, "ra": 100.0, "ta": 95.0, "mia": 9.0,
             "avg_gap": 0.0},
            {"method": "ft", "n_seeds": 3, "ua": 3.0, "ra": 99.0, "ta": 95.5, "mia": 8.0,
             "avg_gap": 0.9, "ua_std": 0.5}]
    bars = method_gap_bars(rows)
    assert [m["method"] for m in bars["methods"]] == ["original", "ft"]  # the oracle is the 0
    assert bars["methods"][1]["gaps"] == pytest.approx([1.0, 1.0, 0.5, 1.0, 0.9])
    assert bars["methods"][1]["std"][0] == 0.5
    fig_paths = P.draw_method_bars(bars, __import__("pathlib").Path("/tmp") / "bars-test")
    assert fig_paths[0].stat().st_size > 5000
