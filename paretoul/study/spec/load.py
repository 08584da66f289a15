"""Reading a study spec: YAML -> :class:`StudySpec`, every mistake one
:class:`~paretoul.errors.UserError` naming the field (``arms[2].searcher.sampler``), the value
and what is allowed."""

from __future__ import annotations

import difflib
import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from paretoul.errors import UserError, did_you_mean
from paretoul.study.spec.resolve import field_key
from paretoul.study.spec.schema import KeyRuleError, StudySpec


def _key(key: object) -> str:
    """``.key`` for a readable key, ``[repr]`` for one that is empty or holds a line break or
    other unprintable character (so a field name is always one line)."""
    return f".{key}" if isinstance(key, str) and key.isprintable() and key.strip() else f"[{key!r}]"


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else field_key(part)
    return out.removeprefix(".") or "spec"


def _short_repr(value: object, limit: int = 60) -> str:
    try:
        r = repr(value)
    except ValueError:  # an int past Python's 4300-digit str limit
        return ""
    return r if len(r) <= limit else r[: limit - 3] + "..."


_UNION_MEMBERS = {"int", "float", "str", "bool", "list", "dict", "none"}
"""pydantic names the member of a union it tried (``low.int``); the field is ``low``."""


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The spec model inside an annotation (``list[Arm]``, ``Fidelity | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the spec allows at ``loc`` (``()`` is the top level, ``("arms", 0)`` an arm)."""
    model: type[BaseModel] | None = StudySpec
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part) if model is not None else None
        model = _model_in(info.annotation) if info is not None else None
        if model is None:
            return []
    return list(model.model_fields) if model is not None else []


def _elsewhere(key: object, loc: tuple[Any, ...]) -> str:
    """``"; 'budget' is a key of each arm (arms[i].budget)"`` when ``key`` (or a close spelling)
    belongs at another level of the spec than ``loc``."""
    here = _loc(loc) if loc else "spec"
    places: dict[str, str] = {}

    def walk(model: type[BaseModel], path: str, seen: tuple[type, ...]) -> None:
        for name, info in model.model_fields.items():
            places.setdefault(name, f"{path}.{name}".removeprefix("."))
            inner = _model_in(info.annotation)
            if inner is not None and inner not in seen:
                listed = typing.get_origin(info.annotation) is list
                walk(inner, f"{path}.{name}" + ("[i]" if listed else ""), (*seen, inner))

    walk(StudySpec, "", (StudySpec,))
    close = difflib.get_close_matches(str(key), list(places), n=1, cutoff=0.6)
    if not close or places[close[0]].rsplit(".", 1)[0].replace("[i]", "") == here.replace("[0]", ""):
        return ""
    where = places[close[0]]
    return f"; did you mean {where if '.' in where else 'the top-level key ' + repr(where)}?"


def _allowed(err: dict[str, Any]) -> str:
    expected = err.get("ctx", {}).get("expected", "")
    return ", ".join(re.findall(r"'([^']*)'", expected)) or expected


_OUR_WORDS: dict[str, Any] = {
    "missing": lambda err: "required key missing",
    "literal_error": lambda err: (f"unknown value {_short_repr(err.get('input'))}"
                                  f"{did_you_mean(err.get('input'), _allowed(err).split(', '))}; "
                                  f"allowed: {_allowed(err)}"),
    "int_parsing": lambda err: f"{_short_repr(err.get('input'))} is not an integer",
    "int_type": lambda err: f"{_short_repr(err.get('input'))} is not an integer",
    "int_from_float": lambda err: f"{_short_repr(err.get('input'))} is not a whole number",
    "float_parsing": lambda err: f"{_short_repr(err.get('input'))} is not a number",
    "float_type": lambda err: f"{_short_repr(err.get('input'))} is not a number",
    "finite_number": lambda err: f"{_short_repr(err.get('input'))} is not a finite number",
    "bool_parsing": lambda err: f"{_short_repr(err.get('input'))} is not true or false",
    "bool_type": lambda err: f"{_short_repr(err.get('input'))} is not true or false",
    "string_type": lambda err: f"{_short_repr(err.get('input'))} is not a string",
    "list_type": lambda err: f"expected a list, got {_short_repr(err.get('input'))}",
    "dict_type": lambda err: f"expected a mapping of keys, got {_short_repr(err.get('input'))}",
    "model_type": lambda err: f"expected a mapping of keys, got {_short_repr(err.get('input'))}",
    "greater_than": lambda err: f"{_short_repr(err.get('input'))}: must be > {err['ctx']['gt']}",
    "greater_than_equal": lambda err: f"{_short_repr(err.get('input'))}: must be >= {err['ctx']['ge']}",
    "less_than": lambda err: f"{_short_repr(err.get('input'))}: must be < {err['ctx']['lt']}",
    "less_than_equal": lambda err: f"{_short_repr(err.get('input'))}: must be <= {err['ctx']['le']}",
    "too_short": lambda err: (f"needs at least {err['ctx']['min_length']} "
                              f"item{'s' if err['ctx']['min_length'] != 1 else ''}"),
    "too_long": lambda err: f"takes at most {err['ctx']['max_length']} items",
    "string_pattern_mismatch": lambda err: (f"{_short_repr(err.get('input'))}: letters, digits, "
                                            "'_', '.' and '-' only, starting with a letter or digit"),
}
"""paretoul's wording for pydantic's commonest errors (the rest keep pydantic's message)."""


def _first_error(e: ValidationError) -> UserError:
    err = e.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and (
        p.startswith("function-") or p in _UNION_MEMBERS)))
    field = _loc(loc)
    ctx_err = err.get("ctx", {}).get("error")
    if isinstance(ctx_err, UserError):  # a registry lookup or forget-spec error inside a validator
        return UserError(field if loc else ctx_err.field, ctx_err.message)
    if isinstance(ctx_err, KeyRuleError):  # a model's rule about one of its keys
        return UserError(f"{field}{field_key(ctx_err.key)}", ctx_err.message)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        allowed = _keys_at(loc[:-1])
        hint = (did_you_mean(loc[-1], allowed) or _elsewhere(loc[-1], loc[:-1])) if loc else ""
        return UserError(field, f"unknown key{hint}" + (f"; allowed: {', '.join(allowed)}"
                                                        if allowed else ""))
    if err["type"] in _OUR_WORDS:
        return UserError(field, _OUR_WORDS[err["type"]](err))
    value = err.get("input")
    text = "" if isinstance(value, dict | list) or value is None else _short_repr(value)
    shown = f" (got {text})" if text else ""
    return UserError(field, f"{msg}{shown}")



def parse_spec(data: Any, source: str = "spec") -> StudySpec:
    """Validate a spec given as a mapping (e.g. from YAML)."""
    if not isinstance(data, dict):
        raise UserError(source, f"a study spec is a mapping of keys, got {type(data).__name__}")
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as e:
        raise _first_error(e) from None
    except UserError:
        raise
    return spec


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a YAML study spec (``yaml.safe_load``)."""
    p = Path(path)
    if not p.is_file():
        raise UserError("spec", f"{p} is not a file" if p.exists() else f"no such file: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())  # a ReaderError is 2 lines
        raise UserError("spec", f"{p} is not valid YAML{where}: {problem}") from None
    except UnicodeDecodeError:
        raise UserError("spec", f"{p} is not a UTF-8 text file") from None
    except ValueError as e:  # a value YAML's constructors refuse: 2020-13-01, !!int abc, 5000 digits
        detail = " ".join(str(e).split()[:12])
        raise UserError("spec", f"{p} holds a value YAML cannot read: {detail}") from None
    except RecursionError:
        raise UserError("spec", f"{p} is nested too deeply") from None
    except OSError as e:
        raise UserError("spec", f"cannot read {p}: {e.strerror or e}") from None
    return parse_spec(data, str(p))
