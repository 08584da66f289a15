"""``paretoul study schema``: the spec's JSON Schema, which a validator (here jsonschema, as an
editor's YAML language server uses it) applies to spec files as the loader does."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from paretoul import UserError
from paretoul.cli import main
from paretoul.study.spec import parse_spec

STUDIES = sorted(Path(__file__).resolve().parents[2].joinpath("studies").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    from paretoul.study.spec import spec_json_schema

    schema = spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_command_prints_the_schema(capsys) -> None:
    assert main(["study", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "paretoul study spec" and "arms" in schema["required"]


@pytest.mark.parametrize("path", STUDIES, ids=[p.name for p in STUDIES])
def test_every_shipped_spec_is_valid(validator, path) -> None:
    validator.validate(yaml.safe_load(path.read_text()))


def _quickstart() -> dict:
    return yaml.safe_load((Path(__file__).resolve().parents[2] / "studies" / "quickstart.yaml").read_text())


@pytest.mark.parametrize("change", [
    lambda s: s.update(budgett=3),                                  # a misspelt top-level key
    lambda s: s["arms"][2].update(budgett=3),                       # ... and an arm's
    lambda s: s.update(seeds=[-1]),                                 # out of range
    lambda s: s["arms"][2].update(fidelity={"seeds": [2], "eta": 3}),  # one rung only
    lambda s: s["comparisons"][0].update(jd=[]),                    # an empty side
])
def test_what_the_loader_refuses_the_schema_refuses(validator, change) -> None:
    spec = _quickstart()
    change(spec)
    assert list(validator.iter_errors(spec))
    with pytest.raises(UserError):
        parse_spec(copy.deepcopy(spec))


def test_a_side_may_be_one_name_or_a_list(validator) -> None:
    spec = _quickstart()
    spec["comparisons"][1]["jd"] = ["raul-search"]
    validator.validate(spec)
    parse_spec(spec)


def test_python_dash_m_paretoul_is_the_command() -> None:
    out = subprocess.run([sys.executable, "-m", "paretoul", "study", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "schema" in out.stdout
