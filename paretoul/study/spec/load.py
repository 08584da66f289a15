"""Reading a study spec: YAML -> :class:`StudySpec`, every mistake one
:class:`~paretoul.errors.UserError` naming the field (``arms[2].searcher.sampler``), the value
and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from paretoul.errors import UserError
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


def _first_error(e: ValidationError) -> UserError:
    err = e.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    field = _loc(loc)
    ctx_err = err.get("ctx", {}).get("error")
    if isinstance(ctx_err, UserError):  # a registry lookup or forget-spec error inside a validator
        return UserError(field if loc else ctx_err.field, ctx_err.message)
    if isinstance(ctx_err, KeyRuleError):  # a model's rule about one of its keys
        return UserError(f"{field}{field_key(ctx_err.key)}", ctx_err.message)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return UserError(field, "unknown key")
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
