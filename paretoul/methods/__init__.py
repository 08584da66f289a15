"""Unlearning methods (registry by name) and their search spaces."""

from paretoul.methods import ft, ga, retrain  # noqa: F401  (registers the methods)
from paretoul.methods.base import (
    METHODS,
    Method,
    MethodConfig,
    UnlearnContext,
    UnlearnResult,
    get_method,
    register_method,
)
from paretoul.methods.space import Param, choice_param, float_param, int_param

__all__ = [
    "METHODS",
    "Method",
    "MethodConfig",
    "Param",
    "UnlearnContext",
    "UnlearnResult",
    "choice_param",
    "float_param",
    "get_method",
    "int_param",
    "register_method",
]
