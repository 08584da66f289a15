"""Unlearning methods (registry by name) and their search spaces.

Adding a method = adding one module here that defines a config, a search space and
``unlearn`` and decorates its class with ``@register_method``, then importing it below;
``tests/methods/test_contract.py`` checks it like every other.
"""

from paretoul.methods import (  # noqa: F401  (each import registers its method)
    ft,
    ga,
    l1_sparse,
    munba,
    neggrad_plus,
    raul,
    retrain,
    rl,
    salun,
    scalarized,
    scrub,
)
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
