"""Matplotlib renderers (headless): each draws the data one builder in ``data.py`` made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _save(fig: Any, out: Path, name: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        p = out / f"{name}.{ext}"
        fig.savefig(p, dpi=150, bbox_inches="tight")
        paths.append(p)
    plt.close(fig)
    return paths


def _nonnegative_axes(ax: Any, d: dict[str, Any]) -> None:
    """Gap objectives are >= 0: start such axes at 0 instead of symlog's negative decade."""
    pts = [p for a in d["arms"].values() for p in a["points"]]
    if pts and min(p[0] for p in pts) >= 0:
        ax.set_xlim(left=0)
    if pts and min(p[1] for p in pts) >= 0:
        ax.set_ylim(bottom=0)


def _colours(n: int) -> list[Any]:
    """n distinct colours (tab10, or tab20 past 10), none of them black."""
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def _steps(ax: Any, front: list[list[float]], **kw: Any) -> None:
    if len(front) >= 1:
        xs = [p[0] for p in front]
        ys = [p[1] for p in front]
        ax.step(xs, ys, where="post", **kw)


def zoom_box(d: dict[str, Any]) -> tuple[float, float]:
    """The zoomed panel's upper limits: the better half of the trials on each objective, and
    at least the chosen point (gap objectives: the region near the oracle at the origin)."""
    pts = np.array([p for a in d["arms"].values() for p in a["points"]], dtype=float)
    if not len(pts):
        return 1.0, 1.0
    xs, ys = np.quantile(pts[:, 0], 0.5), np.quantile(pts[:, 1], 0.5)
    if d.get("chosen"):
        xs, ys = max(xs, d["chosen"][0]), max(ys, d["chosen"][1])
    return float(xs) * 1.15 or 1.0, float(ys) * 1.15 or 1.0


def _scatter_panel(ax: Any, d: dict[str, Any], colours: list[Any], legend: bool) -> None:
    arms = sorted(d["arms"].items())
    for (arm, a), color in zip(arms, colours, strict=True):
        pts, std = a["points"], a["std"]
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts], xerr=[s[0] for s in std],
                    yerr=[s[1] for s in std], fmt="o", ms=4, alpha=0.75, color=color, lw=0.6,
                    label=f"{arm} ({a['method']})" if legend else None)
        _steps(ax, a["front"], color=color, lw=1.0, alpha=0.8)
    _steps(ax, d["overall_front"], color="black", lw=1.6, ls="--",
           label="overall front (candidates)" if legend else None)
    # hollow black markers (a colour no arm uses, hiding no trial beneath); the chosen point a
    # filled star above them, so it never covers the original's square
    markers = {"original": "s", "oracle": "D"}
    for who, p in d["baselines"].items():
        ax.scatter([p[0]], [p[1]], marker=markers.get(who, "X"), s=110, facecolor="none",
                   edgecolor="black", lw=1.6, zorder=5, label=who if legend else None)
    if d.get("chosen"):
        ax.scatter([d["chosen"][0]], [d["chosen"][1]], marker="*", s=170, color="gold",
                   edgecolor="black", lw=0.8, zorder=6, label=d["chosen_label"] if legend else None)
    ax.set_xlabel(f"{d['objectives'][0]} ({d['directions'][0]})")
    ax.set_ylabel(f"{d['objectives'][1]} ({d['directions'][1]})")
    ax.grid(alpha=0.3)


def scatter_figure(d: dict[str, Any]) -> Any:
    """Two panels: every trial on symlog axes, and the candidates' region (the better half of
    the trials on each objective) on linear axes; one legend under both."""
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(12, 5.2))
    colours = _colours(len(d["arms"]))
    _scatter_panel(full, d, colours, legend=True)
    _scatter_panel(zoom, d, colours, legend=False)
    full.set_xscale("symlog", linthresh=1.0)
    full.set_yscale("symlog", linthresh=1.0)
    _nonnegative_axes(full, d)
    full.set_title("Every trial, fronts per arm (bars: std over seeds)", fontsize=10)
    x_max, y_max = zoom_box(d)
    # a margin below 0, so the oracle's marker at the origin is not cut by the axes
    zoom.set_xlim(-0.04 * x_max, x_max)
    zoom.set_ylim(-0.04 * y_max, y_max)
    zoom.set_title("Zoom: the better half of the trials on each objective", fontsize=10)
    if full.get_xlim()[0] >= 0:  # symlog's linear decade near 0: a tenth of it as margin
        full.set_xlim(left=-0.1)
    if full.get_ylim()[0] >= 0:
        full.set_ylim(bottom=-0.1)
    handles, labels = full.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=8,
               frameon=False, markerscale=0.8, handletextpad=0.8, columnspacing=1.6)
    fig.tight_layout()
    return fig


def draw_scatter(d: dict[str, Any], out: Path) -> list[Path]:
    return _save(scatter_figure(d), out, "pareto_scatter")


def draw_hv_history(d: dict[str, list[list[float]]], out: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(8.5, 4.6))
    runs = sorted(d.items())
    for (name, series), color in zip(runs, _colours(len(runs)), strict=True):
        ax.plot([s[0] for s in series], [s[1] for s in series], marker=".", label=name, color=color)
    ax.set_xlabel("finished trials of the arm")
    ax.set_ylabel("hypervolume (normalised objectives)")
    ax.set_title("Hypervolume history per arm (method, searcher)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    ax.grid(alpha=0.3)
    return _save(fig, out, "hv_history")


_OFFSETS = [(5, 5), (5, -11), (-34, 5), (-34, -11), (5, 17), (5, -23), (-34, 17), (-34, -23),
            (16, -3), (-46, -3), (5, 29), (5, -35)]
"""Where a point's label may go (points from the point), nearest first."""


def place_labels(fig: Any, ax: Any, items: list[tuple[str, list[float]]]) -> list[Any]:
    """Annotate each ``(text, point)`` at the first of :data:`_OFFSETS` whose box overlaps no
    label placed before it (matplotlib's own text extents); the last offset when none is free."""
    renderer = fig.canvas.get_renderer()
    placed: list[Any] = []
    boxes: list[Any] = []
    for text, point in items:
        for k, offset in enumerate(_OFFSETS):
            ann = ax.annotate(text, point, fontsize=8, xytext=offset, textcoords="offset points",
                              bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                    "alpha": 0.8})
            box = ann.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in boxes) or k == len(_OFFSETS) - 1:
                placed.append(ann)
                boxes.append(box)
                break
            ann.remove()
    return placed


def jd_vs_fixed_figure(d: dict[str, Any]) -> Any:
    fig, ax = plt.subplots(figsize=(7, 5))
    fx = d["fixed"]
    ax.scatter([p["point"][0] for p in fx], [p["point"][1] for p in fx], color="tab:blue",
               label="fixed weights (scalarized)")
    ax.scatter([p["point"][0] for p in d["jd"]], [p["point"][1] for p in d["jd"]], color="tab:red",
               marker="^", label="Jacobian descent (raul)")
    _steps(ax, d["jd_front"], color="tab:red", lw=1.5, label="JD front")
    _steps(ax, d.get("fixed_front", []), color="tab:blue", lw=1.2, ls="--", label="fixed-weight front")
    if d.get("design", "").startswith("paired"):  # each w's two trials, joined
        by_w = {p["w"]: p["point"] for p in fx if p["w"] is not None}
        for p in d["jd"]:
            q = by_w.get(p["w"])
            if q is not None:
                ax.plot([q[0], p["point"][0]], [q[1], p["point"][1]], color="grey", lw=0.7,
                        alpha=0.7, zorder=1)
    if d.get("original"):
        o = d["original"]
        ax.scatter([o[0]], [o[1]], marker="s", s=120, facecolor="none", edgecolor="black", lw=1.6,
                   zorder=5, clip_on=False, label="original (do nothing)")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_yscale("symlog", linthresh=1.0)
    _nonnegative_axes(ax, {"arms": {"all": {"points": [p["point"] for p in fx + d["jd"]]}}})
    ax.set_xlabel(d["objectives"][0])
    ax.set_ylabel(d["objectives"][1])
    name, design = d.get("name", ""), d.get("design", "")
    ax.set_title(f"Jacobian descent vs fixed weightings: {name}"
                 + (f" ({design})" if design and design != name else ""), fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    labelled = sorted((p for p in fx if p["w"] is not None), key=lambda p: p["point"][0])
    place_labels(fig, ax, [(f"w={p['w']:.2g}", p["point"]) for p in labelled])  # limits set
    return fig


def draw_jd_vs_fixed(d: dict[str, Any], out: Path) -> list[Path]:
    return _save(jd_vs_fixed_figure(d), out, "jd_vs_fixed")


def draw_jd_weights(d: dict[str, Any], out: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(d["forget"], label="forget objective", lw=1)
    ax.plot(d["retain"], label="retain objective", lw=1)
    ax.set_xlabel("step (thinned)")
    ax.set_ylabel("aggregator weight")
    ax.set_title(f"Jacobian-descent weights, {d['trial']}")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, out, "jd_weights")


def draw_method_bars(d: dict[str, Any], out: Path) -> list[Path]:
    """Each method's distance to the oracle per metric (``data.method_gap_bars``)."""
    labels, methods = d["labels"], d["methods"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(len(methods), 1)
    for i, (m, color) in enumerate(zip(methods, _colours(len(methods)), strict=True)):
        xs = [j + i * width for j in range(len(labels))]
        ax.bar(xs, m["gaps"], width, yerr=m["std"], label=m["method"], capsize=2, color=color,
               error_kw={"lw": 0.6})
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(labels))])
    ax.set_xticklabels(labels)
    ax.set_ylabel("distance to the oracle (points)")
    ax.set_ylim(bottom=0)
    ax.set_title("Each method at its trial closest to the oracle: |metric - oracle's| "
                 "(bars: the metric's sample std over seeds)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, out, "method_bars")


def draw_paired_w(d: dict[str, Any], out: Path) -> list[Path]:
    """Each figure against w, both sides: per-seed values (dots) and the seed mean (line), one
    line style per value of the other gridded parameters; the gradient cosine per w in the last
    panel when measured."""
    names = list(d["figures"]) + (["grad_cos"] if d.get("grad_cos") else [])
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.6), squeeze=False)
    style = {"jd": ("tab:red", "^", "JD (raul)"), "fixed": ("tab:blue", "o", "fixed (scalarized)")}
    dashes = ["-", "--", ":", "-."]
    for ax, name in zip(axes[0], names, strict=True):
        for k, s in enumerate(d["series"]):
            x, ls = s["w"], dashes[k % len(dashes)]
            for side, (color, marker, label) in style.items():
                text = label + (f", {s['label']}" if s["label"] else "")
                if name == "grad_cos":
                    ys = [v if v is not None else float("nan") for v in s["grad_cos"][side]]
                    ax.plot(x, ys, color=color, marker=marker, ls=ls, label=text)
                    continue
                f = s["figures"][name][side]
                for xi, vals in zip(x, f["per_seed"], strict=True):
                    ax.scatter([xi] * len(vals), vals, color=color, marker=marker, s=10, alpha=0.35)
                ax.plot(x, f["mean"], color=color, marker=marker, ls=ls, label=text)
        if name == "grad_cos":
            ax.axhline(0.0, color="grey", lw=0.8)
        else:
            ax.set_yscale("symlog", linthresh=1.0)  # one diverging seed must not flatten the rest
        ax.set_xlabel("w (forget preference)")
        ax.set_title(name if name != "grad_cos" else "cos(g_forget, g_retain)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=6)
    fig.suptitle(f"{d['name']}: JD and fixed weights at each w, {d['seeds']} seeds (dots: seeds, "
                 "line: mean)", fontsize=10)
    fig.tight_layout()
    return _save(fig, out, "paired_w")


def draw_conflict(d: dict[str, Any], out: Path) -> list[Path]:
    """Each arm's trials' mean gradient cosine (forget vs retain): below 0, the two conflict."""
    arms = sorted(d["arms"].items())
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(arms) + 2), 3.8))
    for i, ((_, a), color) in enumerate(zip(arms, _colours(len(arms)), strict=True)):
        ys = a["grad_cos"]
        xs = [i + 0.08 * (j - (len(ys) - 1) / 2) / max(len(ys), 1) * 4 for j in range(len(ys))]
        ax.scatter(xs, ys, color=color, s=18, alpha=0.8)
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xticks(range(len(arms)))
    ax.set_xticklabels([f"{arm}\n({a['method']})" for arm, a in arms], fontsize=7)
    ax.set_ylabel("mean cos(g_forget, g_retain)")
    ax.set_title("Gradient conflict per trial (below 0: the objectives conflict)", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, out, "gradient_conflict")
