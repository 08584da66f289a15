"""The quickstart study end to end: every plot and the HTML report, opened in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import paretoul

PLOTS = ("pareto_scatter", "hv_history", "jd_vs_fixed", "jd_weights", "method_bars")


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("qs")
    summary = paretoul.launch_study("studies/quickstart.yaml", tmp / "out", cache_dir=tmp / "cache",
                                    quiet=True).summary
    assert summary["complete"]
    for a in summary["arms"]:  # effective budgets: a pymoo arm's repeated points run no trial
        assert a["finished"] == a["budget"] and a["budget"] >= min(4, a["spec_budget"]), a
    return tmp / "out"


def test_the_method_table_shows_the_noise_floor_and_the_sample_std(quickstart) -> None:
    md = (quickstart / "report" / "report.md").read_text()
    assert "| retrain (noise floor) | retrain#0 |" in md
    assert "mean ± sample std (ddof = 1) over 8 seeds" in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| retrain (noise floor)"))
    avg_gap = float(row.split("|")[7].split("±")[0])
    assert 0 < avg_gap < 3  # an independent retrain: close to the oracle, not identical


def test_every_plot_and_the_report_exist(quickstart) -> None:
    report = quickstart / "report"
    for name in PLOTS:
        assert (report / f"{name}.png").stat().st_size > 5000, name
        assert (report / f"{name}.svg").read_text().lstrip().startswith("<?xml")
    html = (report / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(PLOTS)  # self-contained
    assert "Jacobian descent vs fixed weights" in html


def _colourful_share(png: Path) -> float:
    rgb = np.asarray(Image.open(png).convert("RGB"), dtype=float) / 255.0
    sat = rgb.max(axis=2) - rgb.min(axis=2)
    return float((sat > 0.25).mean())


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is installed by .ci/run")
def test_report_opens_in_a_browser_with_its_images(quickstart, tmp_path) -> None:
    html = quickstart / "report" / "report.html"
    text_only = tmp_path / "text_only.html"
    # the same page without its images: what a browser shows if the images fail to load
    src = html.read_text()
    import re

    text_only.write_text(re.sub(r'src="data:image/png;base64,[^"]+"', 'src=""', src))
    shots = {}
    for name, page in (("report", html), ("text_only", text_only)):
        shot = tmp_path / f"{name}.png"
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / ('profile-' + name)}",
             "--hide-scrollbars", "--window-size=1100,6000", f"--screenshot={shot}",
             page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )
        shots[name] = _colourful_share(shot)
    assert shots["report"] > 0.01  # coloured plot markers, lines and bars were drawn
    assert shots["report"] > 10 * max(shots["text_only"], 1e-4)
