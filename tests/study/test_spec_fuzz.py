"""Fuzzing the spec loader: any document either loads or is one UserError line naming a field.

Two generators, both reproducible (``derandomize=True``, no example database):

- structured mutations of a valid quickstart-like spec: keys replaced, deleted or inserted,
  drawn from the spec's real key names, method parameter names and random strings, with
  values that are JSON-like (scalars incl. huge ints, NaN/inf and odd strings; lists; dicts);
- raw documents: YAML-ish lines glued together, arbitrary text, arbitrary bytes.

Whatever is generated, :func:`paretoul.study.spec.load_spec` must return a ``StudySpec`` or
raise :class:`paretoul.errors.UserError` with a non-empty ``field`` and a one-line message;
any other exception (or a multi-line message) fails the test. What the fuzzing found (and
probes around it) stays below as fixed examples.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paretoul.errors import UserError
from paretoul.study.spec import Arm, Objective, Range, Resources, SearcherSpec, StudySpec, load_spec

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

BASE: dict[str, Any] = {
    "name": "fuzz",
    "dataset": "digits",
    "model": "mlp",
    "forget": "random:0.1",
    "seeds": [0, 1],
    "reference_fraction": 0.1,
    "objectives": [{"metric": "forget_gap", "direction": "min"},
                   {"metric": "retain_gap", "direction": "min"}],
    "hv_reference": [50.0, 50.0],
    "resources": {"cpus": 1, "gpus": 0},
    "max_failures": 1,
    "trial_timeout_s": 600,
    "storage_retry_s": 30,
    "arms": [
        {"name": "raul-uniform", "method": "raul", "searcher": {"type": "optuna", "sampler": "nsga2",
                                                                "seed": 0, "population": 4},
         "budget": 12, "fixed": {"reference": "uniform", "aggregator": "upgrad"},
         "search": ["lr", "epochs"], "space": {"lr": {"low": 0.003, "high": 0.1},
                                               "epochs": {"low": 4, "high": 10}}},
        {"name": "scalarized-grid", "method": "scalarized", "searcher": {"type": "grid"},
         "grid": {"w": [0.0, 0.5, 1.0]}, "fixed": {"reference": "uniform", "lr": 0.03, "epochs": 8}},
        {"name": "ft", "method": "ft", "searcher": {"type": "optuna", "sampler": "tpe",
                                                    "startup_trials": 2}, "budget": 4,
         "space": {"lr": {"low": 0.003, "high": 0.1, "log": True}}},
        {"name": "salun", "method": "salun", "searcher": {"type": "pymoo", "population": 4,
                                                          "generations": 2, "seed": 0}},
        {"name": "ga", "method": "ga", "searcher": {"type": "random", "seed": 1}, "budget": 2},
    ],
}

KEYS = sorted({*StudySpec.model_fields, *Arm.model_fields, *SearcherSpec.model_fields,
               *Range.model_fields, *Resources.model_fields, *Objective.model_fields,
               "lr", "epochs", "w", "reference", "aggregator", "momentum", "batch_size"})
WORDS = ["raul", "scalarized", "ft", "ga", "salun", "optuna", "pymoo", "grid", "random", "nsga2",
         "tpe", "gp", "min", "max", "match", "forget_gap", "retain_gap", "ua", "avg_gap", "digits",
         "cifar10", "mlp", "resnet18", "random:0.1", "random:5", "class:3", "class:1,2",
         "random:\n1.5", "class:", "uniform", "upgrad", "auto", "cpu", "sqlite:///x.db", "foo://x",
         "", " ", "\n", "a\nb", "\t", "\x00", "\u2028", "é", "-1", "1e400", ".nan", "~", "[", "{"]


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-3, max_value=12), st.integers(), st.sampled_from([10**400, -(10**30)]),
        st.floats(), st.sampled_from([0.0, -0.0, 0.5, 1.5, 1e-300, 1e300]),
        st.sampled_from(WORDS), st.text(max_size=12),
    )


KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
VALUE = st.recursive(
    _scalars(),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(KEY, children, max_size=4)),
    max_leaves=8,
)


def _containers(node: Any) -> list[Any]:
    """Every dict and list in ``node`` (itself included), depth first."""
    out = []
    if isinstance(node, dict | list):
        out.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            out.extend(_containers(child))
    return out


def _mutate(data: st.DataObject, doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        nodes = _containers(doc)
        node = nodes[data.draw(st.integers(0, len(nodes) - 1), label="node")]
        op = data.draw(st.sampled_from(["replace", "delete", "insert"]), label="op")
        if isinstance(node, dict):
            if op == "insert" or not node:
                node[data.draw(KEY, label="key")] = data.draw(VALUE, label="value")
            else:
                key = data.draw(st.sampled_from(list(node)), label="key")
                if op == "delete":
                    del node[key]
                else:
                    node[key] = data.draw(VALUE, label="value")
        elif op == "insert" or not node:
            node.insert(data.draw(st.integers(0, len(node)), label="at"), data.draw(VALUE, label="value"))
        else:
            i = data.draw(st.integers(0, len(node) - 1), label="index")
            if op == "delete":
                del node[i]
            else:
                node[i] = data.draw(VALUE, label="value")
    return doc


def _check(path: Path) -> None:
    try:
        spec = load_spec(path)
    except UserError as e:
        text = str(e)
        assert e.field, text
        assert len(text.splitlines()) == 1 and text.strip(), repr(text)
    else:
        assert isinstance(spec, StudySpec)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "spec.yaml"


def test_base_spec_is_valid(spec_file: Path) -> None:
    spec_file.write_text(yaml.safe_dump(BASE, sort_keys=False))
    assert load_spec(spec_file).name == "fuzz"


@FUZZ
@given(data=st.data())
def test_mutated_spec_loads_or_is_one_user_error(spec_file: Path, data: st.DataObject) -> None:
    spec_file.write_text(yaml.safe_dump(_mutate(data, BASE), sort_keys=False, allow_unicode=True),
                         encoding="utf-8")
    _check(spec_file)


LINES = ["name: fuzz", "name: x y", "dataset: digits", "forget: random:0.1", "seeds: [0, 0]",
         "arms:", "  - {method: ft, searcher: {type: random}, budget: 2}", "  - method: raul",
         "    searcher: {type: grid}", "    grid: {w: [0.5, 2]}", "resources: {gpus: .inf}",
         "objectives: [{metric: ua}]", "hv_reference: [.nan]", "storage: foo://x", "- a", "? [a, b]",
         ": 1", "&a [*a]", "*b", "!!python/object:os.system {}", "!!binary AAAA", "{", "]", "'",
         '"\\x00"', "\t", "---", "...", "%YAML 1.1", "#", "key: \"\\ud800\""]


@FUZZ
@given(text=st.one_of(
    st.lists(st.one_of(st.sampled_from(LINES), st.text(max_size=20)), max_size=8).map("\n".join),
    st.text(max_size=200),
    st.builds(lambda n: "[" * n + "]" * n, st.integers(0, 1000)),
))
def test_raw_text_loads_or_is_one_user_error(spec_file: Path, text: str) -> None:
    spec_file.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    _check(spec_file)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_raw_bytes_load_or_are_one_user_error(spec_file: Path, raw: bytes) -> None:
    spec_file.write_bytes(raw)
    _check(spec_file)


def _doc(**changes: Any) -> str:
    return yaml.safe_dump({**BASE, **changes}, sort_keys=False)


def _arm0(**changes: Any) -> str:
    return _doc(arms=[{**BASE["arms"][0], **changes}, *BASE["arms"][1:]])


# (document, field): each once crashed load_spec or gave a message of two lines
FOUND = [
    (_doc(**{"\r": None}), "['\\r']"),  # a key with a line break printed the break
    (_arm0(space={"\x0b": {"low": 1}}), "arms[0].space['\\x0b']"),
    (_arm0(fixed={"x\ny": 1}), "arms[0].fixed['x\\ny']"),
    ("name: a\x00b\n", "spec"),  # YAML's ReaderError is two lines
    ("\x1f", "spec"),
    ("[" * 5000 + "]" * 5000, "spec"),  # RecursionError
    (_doc(resources={"gpus": float("inf")}), "resources.gpus"),  # OverflowError in the validator
    (_arm0(space={"epochs": {"low": float("nan")}}), "arms[0].space.epochs.low"),  # ValueError: int(nan)
    (_arm0(space={"lr": {"high": float("nan")}}), "arms[0].space.lr.high"),  # a NaN range was accepted
    (_doc(hv_reference=[float("nan"), 1.0]), "hv_reference[0]"),  # accepted
    (_arm0(fixed={"epochs": 10**400}), "arms[0].fixed.epochs"),  # OverflowError: int to float
    (_doc(forget="random:\n1.5"), "forget"),  # the message printed the line break
    ("name: 2020-13-01\n", "spec"),  # ValueError from YAML's timestamp constructor
    ("name: !!int abc\n", "spec"),
    ("max_failures: " + "9" * 5000 + "\n", "spec"),  # ValueError: past Python's int-digit limit
]


@pytest.mark.parametrize("text, field", FOUND, ids=[f"found-{i}" for i in range(len(FOUND))])
def test_fuzz_findings_are_one_user_error(spec_file: Path, text: str, field: str) -> None:
    spec_file.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as e:
        load_spec(spec_file)
    assert e.value.field == field and len(str(e.value).splitlines()) == 1, str(e.value)
