"""One reading of typed values from text, for every parameter a user writes: method parameters
(``--param``, a spec's ``fixed`` and ``grid``) and recipe overrides (``--recipe``)."""

from __future__ import annotations

import math
import typing
from typing import Any

from paretoul.errors import UserError

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def coerce(field: str, typ: Any, value: Any) -> Any:
    """``value`` (possibly text from a command line) as ``typ`` (bool, int, float, str, or an
    optional one), or a :class:`~paretoul.errors.UserError` naming ``field``.

    Text is read as a user types it: ``true``/``yes``/``on``/``1`` (and their opposites) for a
    boolean; any whole number for an integer, written as a float too (``3.0``, ``1e3``); only
    finite numbers; ``none``/``null`` (or None) for an optional field."""
    args = typing.get_args(typ)
    if type(None) in args:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return coerce(field, inner, value)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise UserError(field, f"{value!r} is not a boolean (true/false)")
    if typ is int:
        f = _number(field, value, "an integer")
        if int(f) != f:
            raise UserError(field, f"{value!r} is not an integer")
        return int(f)
    if typ is float:
        return _number(field, value, "a number")
    if typ is str:
        return str(value)
    return value


def _number(field: str, value: Any, what: str) -> float:
    """``value`` as a finite float (not a bool), else a UserError saying it is not ``what``."""
    if isinstance(value, bool):
        raise UserError(field, f"{value!r} is not {what}")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise UserError(field, f"{value!r} is not {what}") from None
    except OverflowError:  # an int beyond a float's range
        raise UserError(field, "too large a number") from None
    if not math.isfinite(f):
        raise UserError(field, f"{value!r} is not {'a finite number' if what == 'a number' else what}")
    return f
