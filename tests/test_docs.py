"""Every code block of the product page and the reference pages is executed by a test, so none
goes stale (:mod:`tests.docs_blocks` reads them from the pages).

:data:`EXECUTED` says, for every block, which test runs it and how: commands are parsed by the
real CLI parser (every flag of a synopsis must exist), concrete cheap ones are run, specs are
loaded, Python blocks are executed, and printed output is compared with what the command prints
now. A block added to a page fails :func:`test_every_block_is_executed_by_a_test` until it is
given a line here.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex

import pytest
import yaml

from paretoul.cli import build_parser, main
from tests.docs_blocks import PAGES, REPO, block, blocks

EXECUTED = {
    ("README.md", "python3 -m venv .venv"): "test_quickstart_report.py: the quickstart fixture runs "
                                            "its launch command; .ci/run its install",
    ("README.md", "..."): "test_quickstart_report.py: the launch's last lines, line by line",
    ("README.md", ".venv/bin/python -m pytest"): "test_the_readme_test_command_is_what_ci_runs",
    ("README.md", "import paretoul"): "shared_study.py: the notebook cell, run twice",
    ("studies/README.md", "name: quickstart"): "test_spec_blocks_load",
    ("studies/README.md", "paretoul study launch SPEC"): "test_command_blocks_parse",
    ("studies/README.md", "paretoul compare DIR"): "test_command_blocks_parse",
    ("studies/README.md", "comparisons:"): "test_spec_blocks_load",
    ("studies/README.md", "paretoul study launch studies/jd_vs_fixed"): "test_command_blocks_parse",
    ("studies/README.md", "import json, torch, paretoul"): "test_api.py: run on the exported model",
    ("studies/README.md", "paretoul run --dataset cifar10"): "test_command_blocks_parse",
    ("paretoul/README.md", "paretoul run --dataset digits"): "test_the_run_command_prints_its_table",
    ("paretoul/README.md", "digits / mlp"): "test_the_run_command_prints_its_table",
    ("paretoul/README.md", "import paretoul"): "test_the_python_run_block_runs",
    ("paretoul/README.md", "paretoul audit [every"): "test_command_blocks_parse",
}
"""(page, the block's first line's start) -> the test that executes it."""

COMMAND_BLOCKS = [k for k, v in EXECUTED.items() if v == "test_command_blocks_parse"]


def test_every_block_is_executed_by_a_test() -> None:
    found = blocks()
    assert PAGES == ("README.md", "studies/README.md", "analysis/README.md", "paretoul/README.md")
    unlisted = [str(b) for b in found
                if not any(b.page == p and b.first.startswith(s) for p, s in EXECUTED)]
    assert not unlisted, f"code blocks no test executes (add them to EXECUTED): {unlisted}"
    for page, starts in EXECUTED:
        block(page, starts)  # each entry names exactly one block that exists


def commands(text: str) -> list[list[str]]:
    """The ``paretoul ...`` commands of a block: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.split(" # ")[0].split("  #")[0].strip()
        if line.startswith("paretoul "):
            out.append(shlex.split(line)[1:])
    return out


def _optional_flags(tokens: list[str]) -> tuple[list[str], list[str]]:
    """A synopsis's tokens: the flags it names (inside ``[...]`` or not) and the rest."""
    flags = [m for t in tokens for m in re.findall(r"--[a-z][a-z-]*", t)]
    plain = [t for t in tokens if not t.startswith(("[", "--")) and "]" not in t and "|" not in t]
    return flags, plain


def _subcommand(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    """The parser of ``paretoul WORDS...`` (``["study", "launch", "SPEC"]`` -> study launch's)."""
    for word in words:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            break
        parser = subs[0].choices[word]
    assert parser.prog != "paretoul", words
    return parser


@pytest.mark.parametrize("page, starts", COMMAND_BLOCKS, ids=[f"{p}:{s}" for p, s in COMMAND_BLOCKS])
def test_command_blocks_parse(page: str, starts: str) -> None:
    """A synopsis names only subcommands and flags that exist; a concrete command parses as
    given, and a spec it launches loads."""
    parser = build_parser()
    cmds = commands(block(page, starts).text)
    assert cmds
    for tokens in cmds:
        concrete = not any(t.startswith("[") or t.isupper() or "|" in t or t in ("...",)
                           for t in tokens)
        if concrete:
            args, extra = parser.parse_known_args(tokens)
            assert not extra, (tokens, extra)
            if getattr(args, "spec", None):
                from paretoul.study.spec import load_spec

                load_spec(REPO / args.spec)
            continue
        flags, plain = _optional_flags(tokens)
        sub = _subcommand(parser, plain)
        known = set(sub._option_string_actions)
        assert set(flags) <= known, (tokens, sorted(set(flags) - known))


def test_spec_blocks_load() -> None:
    from paretoul.study.spec import parse_spec
    from paretoul.study.spec.schema import Comparison

    spec = yaml.safe_load(block("studies/README.md", "name: quickstart").text)
    assert parse_spec(spec).name == "quickstart"
    fragment = yaml.safe_load(block("studies/README.md", "comparisons:").text)
    assert [Comparison.model_validate(c).name for c in fragment["comparisons"]] == [
        "at each w", "each side tuned"]


def test_the_readme_test_command_is_what_ci_runs() -> None:
    command = block("README.md", ".venv/bin/python -m pytest").text.strip()
    ci = (REPO / ".ci" / "run").read_text()
    assert command == ".venv/bin/python -m pytest" and ".venv/bin/python -m pytest" in ci
    install = block("README.md", "python3 -m venv .venv").text.split("&&")[1].strip()
    assert install.replace(".venv/bin/pip install", "") in ci


def _shape(line: str) -> str:
    """A printed line with its figures and times replaced: what must stay as documented."""
    return re.sub(r"[-+]?\d+(\.\d+)?", "#", line).strip()


def test_the_run_command_prints_its_table(tmp_path, monkeypatch) -> None:
    (tokens,) = commands(block("paretoul/README.md", "paretoul run --dataset digits").text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARETOUL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "120")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(tokens) == 0
    printed = [ln.strip() for ln in out.getvalue().splitlines()]
    documented = block("paretoul/README.md", "digits / mlp").text.splitlines()
    for line in documented:
        kind = line.strip().split(":")[0] if ":" in line else line.strip()[:10]
        match = [p for p in printed if _shape(p).split(":")[0] == _shape(line).split(":")[0]
                 or p.startswith(kind)]
        assert match, f"documented line {line!r} is not printed any more: {printed}"
    header = next(ln for ln in documented if "Avg. Gap" in ln)
    assert _shape(header) in {_shape(p) for p in printed}


def test_the_python_run_block_runs(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARETOUL_CACHE", str(tmp_path / "cache"))
    scope: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block("paretoul/README.md", "import paretoul").text, "paretoul/README.md",
                     "exec"), scope)
    assert float(out.getvalue().strip().splitlines()[-1]) >= 0  # the avg_gap it prints
    assert scope["res"].metrics["avg_gap"] >= 0


def test_the_notebook_cell_runs_twice_and_prints_the_same(shared_study) -> None:
    first, second = shared_study.notebook
    assert first == second and first.strip()
    lines = first.strip().splitlines()
    assert "params_lr" in first and "values_forget_gap" in first  # the dataframe's head
    assert any(line.startswith("uniform (") for line in lines)  # the comparison's verdict
    assert lines[-1].endswith("report.html")
    assert (shared_study.notebook_dir / "runs" / "nb-model.pt").is_file()


def test_the_report_settings_pasted_as_a_spec_relaunch_the_same_study(shared_study) -> None:
    from paretoul.study.spec import parse_spec
    from tests.shared_study import plugin_environment

    md = (shared_study.out / "report" / "report.md").read_text()
    settings = md.split("## Settings", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    original = shared_study.study.spec
    with plugin_environment():
        pasted = parse_spec(yaml.safe_load(settings))
    assert pasted.setting == original.setting and list(pasted.seeds) == list(original.seeds)
    assert pasted.resolved == original.resolved  # every arm: space, fixed values, grid, budget
    assert [pasted.arm_name(i) for i in range(len(pasted.arms))] == [
        original.arm_name(i) for i in range(len(original.arms))]
    assert "seeds: [0, 1]" in settings and "dataset: digits" in settings  # defaults shown too
    assert not re.search(r"epochs: \{low: \d+\.0", settings)  # an integer range stays integer
    import torch

    machine = md.split("## Settings", 1)[1].split("```yaml", 1)[0]  # where it ran (study.json)
    assert f"with {torch.backends.cpu.get_cpu_capability()} CPU kernels" in machine


def test_the_report_says_when_a_study_did_not_record_its_machine(tmp_path) -> None:
    import json

    from paretoul.report.render import machine_lines

    (tmp_path / "study.json").write_text(json.dumps({"versions": {"torch": "2.14.1"}, "runs": [{}]}))
    assert machine_lines(tmp_path)[0].startswith("Launched on: not recorded")
    m = {"machine": "x86_64", "cpu": "Some CPU", "torch_cpu_kernels": "AVX2"}
    (tmp_path / "study.json").write_text(json.dumps({"versions": {"torch": "2.14.1"}, "machine": m,
                                                     "runs": [{"machine": m}, {"machine": m}]}))
    assert machine_lines(tmp_path)[0].startswith(
        "Launched on: Some CPU (x86_64), torch 2.14.1 with AVX2 CPU kernels (on a Ray cluster")


def test_the_fidelity_table_is_the_registries(capsys) -> None:
    """paretoul/README.md's fidelity table is what ``paretoul methods --fidelity-table`` prints
    from the records beside each method and metric (one source), and each record is what
    ``paretoul methods NAME`` / ``paretoul metrics NAME`` show."""
    from paretoul.methods import METHODS, get_method
    from paretoul.metrics import METRICS

    assert main(["methods", "--fidelity-table"]) == 0
    table = capsys.readouterr().out.strip()
    assert table in (REPO / "paretoul" / "README.md").read_text()
    checked = [n for n in METHODS if get_method(n).fidelity] + [n for n in METRICS
                                                                if METRICS.get(n).fidelity]
    assert {"ft", "ga", "l1_sparse", "rl", "salun", "retrain", "mia", "ta"} <= set(checked)
    assert table.count("\n") == len(checked) + 1
    for name in checked:
        kind = "methods" if name in METHODS else "metrics"
        record = get_method(name).fidelity if kind == "methods" else METRICS.get(name).fidelity
        assert main([kind, name]) == 0
        shown = " ".join(capsys.readouterr().out.split())
        assert " ".join(record.reference.split()) in shown and "Deliberate differences:" in shown
