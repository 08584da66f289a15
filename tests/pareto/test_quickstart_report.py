"""The quickstart study end to end (the README's main job, run once: slow), and the HTML report
opened in headless Chromium (the shared study's report, :mod:`tests.shared_study`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import paretoul
from tests._guards import slow_fixture
from tests.docs_blocks import REPO, block

PLOTS = ("pareto_scatter", "hv_history", "jd_vs_fixed", "jd_weights", "method_bars", "paired_w",
         "gradient_conflict")


def _readme_launch() -> list[str]:
    """The README's main command, its launch part: ``paretoul study launch studies/quickstart.yaml``."""
    command = block("README.md", "python3 -m venv .venv").text.split("&&")[-1].split()
    assert command[0] == ".venv/bin/paretoul", command
    return command[1:]


@pytest.fixture(scope="module")
@slow_fixture
def quickstart(tmp_path_factory, cache_dir) -> Path:
    """The quickstart launched by the README's command, as a user runs it (its own process;
    ``--out`` and ``--cache-dir`` added to keep it in the test's folders)."""
    tmp = tmp_path_factory.mktemp("qs")
    p = subprocess.run([sys.executable, "-m", "paretoul", *_readme_launch(), "--out", str(tmp / "out"),
                        "--cache-dir", str(cache_dir)], cwd=REPO, capture_output=True, text=True,
                       timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    (tmp / "stdout.txt").write_text(p.stdout)
    summary = paretoul.open_study(tmp / "out").summary
    assert summary["complete"]
    for a in summary["arms"]:  # effective budgets: a pymoo arm's repeated points run no trial
        assert a["finished"] == a["budget"] and a["budget"] >= min(4, a["spec_budget"]), a
    # the tuned arms halve over the seeds: at least a third of each goes on to all 8
    halving = [a for a in summary["arms"] if "rungs" in a]
    assert len(halving) == 7 and all(a["rungs"][1]["finished"] >= a["budget"] // 3 for a in halving)
    assert summary["seed_runs"]["run"] < summary["seed_runs"]["all_seeds"]
    return tmp / "out"


@pytest.mark.ray
@pytest.mark.slow
def test_the_launch_ends_with_the_lines_the_readme_shows(quickstart) -> None:
    printed = (quickstart.parent / "stdout.txt").read_text().splitlines()
    documented = [ln for ln in block("README.md", "...").text.splitlines() if ln.strip() != "..."]
    tail = printed[-len(documented):]
    for doc, got in zip(documented, tail, strict=True):
        # the same line, its figures, paths and wording after the first figure free to change
        head = re.split(r"[\d…]", doc, maxsplit=1)[0]
        assert got.startswith(head), (doc, got)
    assert tail[-1].startswith("chosen (knee): ") and "--export model.pt` writes it" in tail[-1]
    assert any(line.startswith("[") and "] " in line for line in printed)  # the progress lines


@pytest.mark.ray
@pytest.mark.slow
def test_the_method_table_shows_the_noise_floor_and_the_sample_std(quickstart) -> None:
    md = (quickstart / "report" / "report.md").read_text()
    assert "| retrain (noise floor) | retrain#0 |" in md
    assert "mean ± sample std (ddof = 1) over 8 seeds" in md
    assert "## Successive halving over seeds" in md
    assert "| raul-search | 2, 8 | 3 | rank | asynchronous | 12 |" in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| retrain (noise floor)"))
    avg_gap = float(row.split("|")[7].split("±")[0])
    assert 0 < avg_gap < 3  # an independent retrain: close to the oracle, not identical
    # the retrain is the closest to the oracle, but a reference: never the chosen point
    choice = paretoul.open_study(quickstart).choose("closest-to-retrain")
    assert choice.record.method != "retrain" and "retrain#0 (retrain, the noise floor)" in choice.reason


@pytest.mark.ray
@pytest.mark.parametrize("which", [pytest.param("quickstart", marks=pytest.mark.slow), "shared_study"])
def test_every_plot_and_the_report_exist(which, request) -> None:
    fixture = request.getfixturevalue(which)
    report = (fixture if which == "quickstart" else fixture.out) / "report"
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


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is installed by .ci/run")
def test_report_opens_in_a_browser_with_its_images(shared_study, tmp_path) -> None:
    html = shared_study.out / "report" / "report.html"
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


_PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const code = document.querySelector("pre code.language-yaml");
  const text = document.body.innerText;
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    images: imgs.length,
    loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    settings_lines: code ? code.innerText.split("\\n").filter(l => l.trim()).length : 0,
    raw_markdown: ["**", "```", "|---", "![", "](data:"].filter(m => text.includes(m)),
    tables: document.querySelectorAll("table").length,
    sizes: Object.fromEntries(imgs.map(i => [i.alt, [i.naturalWidth, i.naturalHeight, i.width]])),
  });
  document.body.appendChild(out);
});
</script>"""


def browser_probe(html: Path, tmp_path: Path) -> dict:
    """What headless Chromium rendered: images loaded, the settings block's lines, raw Markdown
    left in the visible text, tables (a probe script is added to a copy of the page)."""
    import json
    import re

    page = tmp_path / "probed.html"
    page.write_text(html.read_text().replace("</body>", _PROBE + "</body>"))
    r = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile-probe'}", "--virtual-time-budget=5000",
         "--dump-dom", page.resolve().as_uri()],
        check=True, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', r.stdout, re.S)
    assert found, "the probe did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is installed by .ci/run")
def test_the_report_renders_in_a_browser(shared_study, tmp_path) -> None:
    probe = browser_probe(shared_study.out / "report" / "report.html", tmp_path)
    assert probe["images"] == len(PLOTS) and probe["loaded"] == probe["images"]
    assert probe["settings_lines"] >= 10  # the settings block keeps one setting per line
    assert probe["raw_markdown"] == [] and probe["tables"] >= 3
    # the scatter is drawn whole, with its zoomed panel beside the full one: two panels of
    # markers side by side, shown at a width that keeps both readable
    w, h, shown = probe["sizes"]["pareto_scatter"]
    assert w > 1.6 * h and shown >= 600
    png = np.asarray(Image.open(shared_study.out / "report" / "pareto_scatter.png").convert("RGB"))
    assert png.shape[1] == w
    for half in (png[:, : w // 2], png[:, w // 2:]):
        sat = half.max(axis=2).astype(int) - half.min(axis=2)
        assert (sat > 64).mean() > 0.002, "a panel of the scatter has no coloured markers"
