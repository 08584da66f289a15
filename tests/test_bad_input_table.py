"""Bad input, table-driven: every malformed spec file or command line, through the real CLI.

Each row runs ``paretoul.cli.main(argv)`` in-process and must end with exit code 2 and exactly
one non-empty output line (stdout and stderr together) that names the offending field, with no
traceback. Every row is refused during validation: a guard fails the test if one reaches Ray,
trains a model or writes a study or run directory.

A row is ``(id, kind, payload, expected)``:

- ``doc``: ``payload`` is a mapping (or anything), dumped as YAML to a spec file;
- ``text`` / ``bytes``: the spec file's raw content;
- ``argv``: a command line; ``{tmp}`` is the test's temporary directory and ``{study}`` a
  directory holding a study with an empty results database.

Spec rows run ``paretoul study launch <file> --out <tmp>/out``. ``expected`` must appear in the
line (the field's name, usually with the colon that ends it).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from paretoul.cli import main
from tests.study.conftest import SMALL

_DELETE = object()


def _with(*changes: tuple[str, Any]) -> dict[str, Any]:
    """SMALL with ``(path, value)`` changes; a path is ``a.b[0].c``; ``_DELETE`` removes the key."""
    doc = copy.deepcopy(SMALL)
    for path, value in changes:
        parts = [int(p) if p.isdigit() else p for p in path.replace("]", "").replace("[", ".").split(".")]
        node: Any = doc
        for p in parts[:-1]:
            node = node[p]
        if value is _DELETE:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value
    return doc


NAN, INF = float("nan"), float("inf")

TABLE: list[tuple[str, str, Any, str]] = [
    # -- the file itself ---------------------------------------------------------------------
    ("yaml: unclosed bracket", "text", "name: [unclosed\n", "spec: "),
    ("yaml: tab indentation", "text", "name: x\n\tarms: []\n", "spec: "),
    ("yaml: NUL character", "text", "name: a\x00b\n", "spec: "),
    ("yaml: impossible date", "text", "name: 2020-13-01\n", "spec: "),
    ("yaml: nested 5000 deep", "text", "[" * 5000 + "]" * 5000, "spec: "),
    ("not a mapping: list", "text", "- just\n- a list\n", "study.yaml: a study spec is a mapping"),
    ("not a mapping: scalar", "text", "42\n", "study.yaml: a study spec is a mapping"),
    ("not a mapping: empty file", "text", "", "study.yaml: a study spec is a mapping"),
    ("binary file", "bytes", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00", "spec: "),
    ("latin-1 file", "bytes", b"name: caf\xe9\narms: []\n", "spec: "),
    ("spec file missing", "argv", ["study", "launch", "{tmp}/nope.yaml", "--out", "{tmp}/out"], "spec: "),
    ("spec path is a directory", "argv", ["study", "launch", "{tmp}", "--out", "{tmp}/out"], "spec: "),
    # -- wrong types -------------------------------------------------------------------------
    ("type: string budget", "doc", _with(("arms[0].budget", "three")), "arms[0].budget:"),
    ("type: list for resources", "doc", _with(("resources", [1, 0])), "resources:"),
    ("type: mapping for seeds", "doc", _with(("seeds", {"a": 1})), "seeds:"),
    ("type: string in seeds", "doc", _with(("seeds", [0, "x"])), "seeds[1]"),
    ("type: searcher is a string", "doc", _with(("arms[0].searcher", "optuna")), "arms[0].searcher:"),
    ("type: arms is a mapping", "doc", _with(("arms", {"method": "ft"})), "arms:"),
    ("type: numeric name", "doc", _with(("name", 123)), "name:"),
    # -- unknown keys ------------------------------------------------------------------------
    ("unknown key: top level", "doc", _with(("colour", "blue")), "colour: unknown key"),
    ("unknown key: arm", "doc", _with(("arms[0].budgett", 3)), "arms[0].budgett: unknown key"),
    ("unknown key: searcher", "doc", _with(("arms[0].searcher.samplr", "tpe")),
     "arms[0].searcher.samplr: unknown key"),
    ("unknown key: resources", "doc", _with(("resources", {"cpus": 1, "memory": 4})),
     "resources.memory: unknown key"),
    ("unknown key: objective", "doc", _with(("objectives", [{"metric": "forget_gap", "goal": "min"}])),
     "objectives[0].goal: unknown key"),
    ("unknown key: with a line break", "doc", _with(("a\nb", 1)), "['a\\nb']: unknown key"),
    # -- budgets and arms --------------------------------------------------------------------
    ("budget negative", "doc", _with(("arms[0].budget", -3)), "arms[0].budget"),
    ("budget zero", "doc", _with(("arms[0].budget", 0)), "arms[0].budget"),
    ("budget missing", "doc", _with(("arms[0].budget", _DELETE)), "arms[0].budget"),
    ("arms empty", "doc", _with(("arms", [])), "arms"),
    ("arms missing", "doc", _with(("arms", _DELETE)), "arms:"),
    ("arm names duplicate", "doc", _with(("arms[1].name", "raul-nsga2")), "arms[1].name:"),
    # -- objectives and the HV reference -----------------------------------------------------
    ("objective: unknown metric", "doc", _with(("objectives", [{"metric": "accuracy"}])),
     "objectives[0].metric"),
    ("objective: invalid direction", "doc",
     _with(("objectives", [{"metric": "forget_gap", "direction": "down"}])), "objectives[0].direction:"),
    ("objectives empty", "doc", _with(("objectives", [])), "objectives:"),
    ("hv_reference wrong length", "doc", _with(("hv_reference", [1.0, 2.0, 3.0])), "hv_reference:"),
    ("hv_reference NaN", "doc", _with(("hv_reference", [NAN, 1.0])), "hv_reference[0]:"),
    # -- search ranges -----------------------------------------------------------------------
    ("range: low > high", "doc", _with(("arms[0].space", {"lr": {"low": 0.1, "high": 0.01}})),
     "arms[0].space.lr"),
    ("range: log touching 0", "doc",
     _with(("arms[0].space", {"lr": {"low": 0.0, "high": 0.01, "log": True}})), "arms[0].space.lr"),
    ("range: NaN bound", "doc", _with(("arms[2].space", {"epochs": {"low": NAN}})),
     "arms[2].space.epochs.low:"),
    # -- resources ---------------------------------------------------------------------------
    ("gpus 1.5", "doc", _with(("resources", {"gpus": 1.5})), "resources.gpus"),
    ("gpus infinite", "doc", _with(("resources", {"gpus": INF})), "resources.gpus:"),
    ("cpus negative", "doc", _with(("resources", {"cpus": -1})), "resources.cpus"),
    ("cpus zero", "doc", _with(("resources", {"cpus": 0})), "resources.cpus:"),
    # -- paths and storage -------------------------------------------------------------------
    ("data_root missing (CIFAR)", "doc",
     {**SMALL, "dataset": "cifar10", "model": "cnn", "data_root": "{tmp}/nodata"}, "data_root:"),
    ("storage: unknown scheme", "doc", _with(("storage", "foo://host/db")), "storage:"),
    ("storage: not a URL", "doc", _with(("storage", "not a url")), "storage:"),
    # -- registry names and forget specs -----------------------------------------------------
    ("unknown method", "doc", _with(("arms[0].method", "magic")), "arms[0].method: unknown value 'magic'"),
    ("unknown dataset", "doc", _with(("dataset", "imagenet")), "dataset: unknown value 'imagenet'"),
    ("unknown model", "doc", _with(("model", "vit")), "model: unknown value 'vit'"),
    ("forget: fraction 2.5", "doc", _with(("forget", "random:2.5")), "forget: forget fraction"),
    ("forget: unknown kind", "doc", _with(("forget", "blah:3")), "forget:"),
    ("forget: no colon", "doc", _with(("forget", "random")), "forget:"),
    ("forget: class list", "doc", _with(("forget", "class:a,b")), "forget:"),
    ("forget: count 0", "doc", _with(("forget", "random:0")), "forget:"),
    ("forget: line break", "doc", _with(("forget", "random:\n1.5")), "forget:"),
    ("seeds duplicate", "doc", _with(("seeds", [0, 0])), "seeds"),
    ("seeds empty", "doc", _with(("seeds", [])), "seeds:"),
    ("seeds negative", "doc", _with(("seeds", [0, -1])), "seeds[1]: "),
    ("seeds 2^32", "doc", _with(("seeds", [2**32])), "seeds[0]: "),
    ("searcher seed negative", "doc", _with(("arms[0].searcher.seed", -1)), "arms[0].searcher.seed: "),
    ("searcher seed 2^32", "doc", _with(("arms[3].searcher.seed", 2**32)), "arms[3].searcher.seed: "),
    # -- method parameters -------------------------------------------------------------------
    ("fixed: huge integer", "doc", _with(("arms[0].fixed", {"epochs": 10**400})), "arms[0].fixed.epochs:"),
    ("fixed: key with a line break", "doc", _with(("arms[0].fixed", {"x\ny": 1})),
     "arms[0].fixed['x\\ny']:"),
    # -- searchers ---------------------------------------------------------------------------
    ("grid arm without grid", "doc", _with(("arms[1].grid", _DELETE)), "arms[1].grid:"),
    ("grid value refused", "doc", _with(("arms[1].grid", {"w": [0.5, 2.0]})), "arms[1].grid.w"),
    ("pymoo without population", "doc", _with(("arms[2].searcher", {"type": "pymoo", "generations": 2})),
     "arms[2].searcher:"),
    ("pymoo budget != population x generations", "doc", _with(("arms[2].budget", 5)), "arms[2].budget:"),
    ("population on a tpe arm", "doc",
     _with(("arms[0].searcher", {"type": "optuna", "sampler": "tpe", "population": 4})),
     "arms[0].searcher.population"),
    ("startup_trials on nsga2", "doc", _with(("arms[0].searcher", {"type": "optuna", "startup_trials": 3})),
     "arms[0].searcher.startup_trials"),
    # -- comparisons -------------------------------------------------------------------------
    ("comparison: unknown arm", "doc", _with(("comparisons", [{"jd": "raul-nsga2", "fixed": "nope"}])),
     "comparisons[0].fixed: no arm named 'nope'"),
    ("comparison: lr searched vs fixed", "doc",
     _with(("comparisons", [{"jd": "raul-nsga2", "fixed": "sc-grid"}])),
     "comparisons[0].fixed: arms 'raul-nsga2' and 'sc-grid' differ in lr"),
    ("comparison: sides swapped", "doc", _with(("comparisons", [{"jd": "sc-grid", "fixed": "raul-nsga2"}])),
     "comparisons[0].jd: arm 'sc-grid' is a scalarized arm"),
    ("comparison: mean aggregator as JD", "doc",
     _with(("arms[0].fixed", {"epochs": 1, "aggregator": "mean"}),
           ("comparisons", [{"jd": "raul-nsga2", "fixed": "sc-grid"}])),
     "comparisons[0].jd: arm 'raul-nsga2' can use aggregator: mean"),
    ("comparison paired by w: grids differ", "doc",
     _with(("arms[0].searcher", {"type": "grid"}), ("arms[0].search", _DELETE),
           ("arms[0].budget", _DELETE), ("arms[0].grid", {"w": [0.0, 0.5]}),
           ("comparisons", [{"jd": "raul-nsga2", "fixed": "sc-grid", "paired_by": "w"}])),
     "comparisons[0].paired_by: arms 'raul-nsga2' and 'sc-grid' differ in w"),
    ("comparison paired by w: w searched", "doc",
     _with(("arms[0].search", ["w"]),
           ("comparisons", [{"jd": "raul-nsga2", "fixed": "sc-grid", "paired_by": "w"}])),
     "comparisons[0].paired_by: arm 'raul-nsga2' has w searched float [0, 1]; pairing by w needs a grid"),
    ("comparison paired by something else", "doc",
     _with(("arms[0].searcher", {"type": "grid"}), ("arms[0].search", _DELETE),
           ("arms[0].budget", _DELETE), ("arms[0].grid", {"w": [0.0, 0.5, 1.0]}),
           ("comparisons", [{"jd": "raul-nsga2", "fixed": "sc-grid", "paired_by": "lr"}])),
     "comparisons[0].paired_by: 'lr'; allowed: w"),
    ("raul varies w under an aggregator without a preference", "doc",
     _with(("arms[0].search", ["w", "aggregator"])), "arms[0].aggregator: mgda takes no preference"),
    ("raul w with mgda", "doc", _with(("arms[0].fixed", {"epochs": 1, "aggregator": "mgda", "w": 0.3})),
     "arms[0].fixed.w: 0.3 is set, but aggregator mgda takes no preference"),
    ("auto reference without a reference set", "doc", _with(("reference_fraction", 0)),
     "arms[0].reference: auto picks rank-calibrated for random forgetting"),
    ("comparison: unknown key", "doc",
     _with(("comparisons", [{"jd": "raul-nsga2", "fixed": "sc-grid", "nmae": "x"}])),
     "comparisons[0].nmae: unknown key"),
    ("comparison: a side missing", "doc", _with(("comparisons", [{"jd": "raul-nsga2"}])),
     "comparisons[0].fixed: required key missing"),
    # -- study-level numbers and names -------------------------------------------------------
    ("name with a space", "doc", _with(("name", "my study!")), "name"),
    ("name with a slash", "doc", _with(("name", "../evil")), "name:"),
    ("max_failures negative", "doc", _with(("max_failures", -1)), "max_failures:"),
    ("trial_timeout_s zero", "doc", _with(("trial_timeout_s", 0)), "trial_timeout_s:"),
    ("trial_timeout_s negative", "doc", _with(("trial_timeout_s", -5)), "trial_timeout_s:"),
    ("storage_retry_s negative", "doc", _with(("storage_retry_s", -1)), "storage_retry_s:"),
    # -- command lines -----------------------------------------------------------------------
    ("run: unknown method", "argv", ["run", "--method", "magic"], "method"),
    ("run: bad --forget", "argv", ["run", "--forget", "blah"], "forget"),
    ("run: --seed not an int", "argv", ["run", "--seed", "x"], "--seed"),
    ("run: --seed a float", "argv", ["run", "--seed", "1.5"], "argument --seed"),
    ("run: --seed negative", "argv", ["run", "--seed", "-1", "--out", "{tmp}/r"], "seed: -1 is not a seed"),
    ("run: --seed 2^32", "argv", ["run", "--seed", "4294967296", "--out", "{tmp}/r"], "seed: 4294967296"),
    ("run: unknown --param", "argv", ["run", "--param", "lrr=0.1"], "param.lrr"),
    ("run: non-numeric --param", "argv", ["run", "--param", "lr=abc"], "param.lr"),
    ("run: --param too large", "argv", ["run", "--param", "epochs=1e400"], "param.epochs:"),
    ("run: CIFAR data-root missing", "argv",
     ["run", "--dataset", "cifar10", "--data-root", "/nonexistent/cifar"], "data-root"),
    ("replicates on a grid arm", "doc", _with(("arms[1].replicates", 2)),
     "arms[1].replicates: 2: a grid arm is deterministic"),
    ("replicates 0", "doc", _with(("arms[0].replicates", 0)), "arms[0].replicates:"),
    ("replicates not a number", "doc", _with(("arms[0].replicates", "many")), "arms[0].replicates:"),
    ("replicates past the seed range", "doc",
     _with(("arms[0].replicates", 3), ("arms[0].searcher.seed", 2**32 - 2)), "arms[0].replicates:"),
    ("a replicate named like another arm", "doc",
     _with(("arms[0].replicates", 2), ("arms[3].name", "raul-nsga2@r1")),
     "arms[0].replicates: replicate 'raul-nsga2@r1'"),
    ("study launch: no spec", "argv", ["study", "launch"], "spec"),
    ("study launch: --max-concurrent 0", "argv",
     ["study", "launch", "{tmp}/ok.yaml", "--out", "{tmp}/out", "--max-concurrent", "0"], "max-concurrent:"),
    ("study status: missing dir", "argv", ["study", "status", "{tmp}/nostudy"], "study:"),
    ("study resume: missing dir", "argv", ["study", "resume", "{tmp}/nostudy"], "study:"),
    ("front: dir without a study", "argv", ["front", "{tmp}"], "study:"),
    ("plot: missing dir", "argv", ["plot", "{tmp}/nostudy"], "study:"),
    ("choose: bad rule", "argv", ["choose", "{study}", "--rule", "bestest"], "rule:"),
    ("choose: bad --weights", "argv", ["choose", "{study}", "--rule", "weights", "--weights", "a,b"],
     "weights:"),
    ("choose: --weights for knee", "argv", ["choose", "{study}", "--rule", "knee", "--weights", "1,2"],
     "rule: --weights is not used by --rule knee"),
    ("report: weights without --weights", "argv", ["report", "{study}", "--rule", "weights"],
     "weights: --rule weights needs --weights"),
    ("report: constrained without a bound", "argv", ["report", "{study}", "--rule", "constrained"],
     "rule: --rule constrained needs"),
    ("report: bad rule", "argv", ["report", "{study}", "--rule", "bestest"], "rule: unknown value 'bestest'"),
    ("validate: a search seed", "argv", ["validate", "{study}", "--seeds", "5,0"],
     "seeds: 0 is a search seed of this study"),
    ("validate: seeds not integers", "argv", ["validate", "{study}", "--seeds", "a,b"], "seeds:"),
    ("validate: negative seed", "argv", ["validate", "{study}", "--seeds", "5,-1"], "seeds:"),
    ("validate: seed twice", "argv", ["validate", "{study}", "--seeds", "5,5"],
     "seeds: seed 5 is given twice"),
    ("validate: no seeds yet", "argv", ["validate", "{study}"], "seeds: this study has no validation"),
    ("validate: nothing finished", "argv", ["validate", "{study}", "--seeds", "5"], "study:"),
    ("validate: missing dir", "argv", ["validate", "{tmp}/nostudy", "--seeds", "5"], "study:"),
    ("validate: bad rule", "argv", ["validate", "{study}", "--seeds", "5", "--rule", "x"], "rule:"),
    ("compare: --on validation without it", "argv", ["compare", "{study}", "--on", "validation"],
     "on: "),
    ("report: --on validation without it", "argv", ["report", "{study}", "--on", "validation"],
     "on: "),
    ("audit: too few models", "argv", ["audit", "--models", "2", "--local"], "models: 2: give at least 3"),
    ("audit: models not a number", "argv", ["audit", "--models", "many"], "--models"),
    ("audit: unknown method", "argv", ["audit", "--method", "forgetall", "--local"], "method"),
    ("audit: bad param", "argv", ["audit", "--method", "ft", "--param", "epochs=-1", "--local"],
     "epochs"),
    ("audit: --trial without a study", "argv", ["audit", "--trial", "ft#0"],
     "trial: --trial needs a study directory"),
    ("audit: --untouched with a study", "argv", ["audit", "{study}", "--untouched"], "untouched:"),
    ("audit: run option with a study", "argv", ["audit", "{study}", "--method", "ga"],
     "method: --method sets up a run without a study directory"),
    ("audit: recipe with a study", "argv", ["audit", "{study}", "--recipe", "epochs=3"], "recipe:"),
    ("audit: no such trial", "argv", ["audit", "{study}", "--trial", "ft#99"], "trial:"),
    ("audit: missing dir", "argv", ["audit", "{tmp}/nostudy", "--trial", "ft#0"], "study:"),
]


def _fill(value: Any, tmp: Path) -> Any:
    """Replace ``{tmp}`` and ``{study}`` in every string of ``value``."""
    if isinstance(value, str):
        return value.replace("{tmp}", str(tmp)).replace("{study}", str(tmp / "study"))
    if isinstance(value, list):
        return [_fill(v, tmp) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, tmp) for k, v in value.items()}
    return value


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("validation let a malformed input through (it would start Ray or train)")


@pytest.mark.parametrize("kind, payload, expected", [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_bad_input(kind: str, payload: Any, expected: str, tmp_path: Path, capfd, monkeypatch) -> None:
    from paretoul import artefacts
    from paretoul.study import runner

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARETOUL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PARETOUL_STORAGE", raising=False)
    monkeypatch.setattr(runner.Launch, "run", _refuse)  # Ray start and the study itself
    monkeypatch.setattr(artefacts, "_trained", _refuse)  # training the original or the oracle
    (tmp_path / "ok.yaml").write_text(yaml.safe_dump(SMALL, sort_keys=False))
    if kind == "argv":
        argv = _fill(payload, tmp_path)
        if any("{study}" in a for a in payload):
            study = tmp_path / "study"
            study.mkdir()
            (study / "spec.yaml").write_text(yaml.safe_dump(SMALL, sort_keys=False))
            (study / "study.db").touch()  # a results database without any trial
        if argv[0] == "run":
            argv = [*argv, "--quiet"]
    else:
        spec = tmp_path / "study.yaml"
        if kind == "bytes":
            spec.write_bytes(payload)
        elif kind == "text":
            spec.write_text(payload, encoding="utf-8")
        else:
            spec.write_text(yaml.safe_dump(_fill(payload, tmp_path), sort_keys=False), encoding="utf-8")
        argv = ["study", "launch", str(spec), "--out", str(tmp_path / "out")]
    capfd.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    out, err = capfd.readouterr()
    text = out + err
    assert "Traceback" not in text, text
    lines = text.splitlines()
    assert code == 2, text
    assert len(lines) == 1 and lines[0].strip(), text
    assert lines[0].startswith("paretoul") and expected in lines[0], lines[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()  # nothing written
    ray = sys.modules.get("ray")
    assert ray is None or not ray.is_initialized()


def test_table_is_large_and_unique() -> None:
    ids = [row[0] for row in TABLE]
    assert len(ids) >= 45 and len(set(ids)) == len(ids)
