"""One reading of typed values from text (:func:`paretoul.coerce.coerce`), used by method
parameters and recipe overrides alike: the inputs a user types are accepted as they always were
(``3.0`` and ``1e3`` for an integer, ``yes``/``off`` for a boolean, ``none`` for an optional
value), and everything else is one UserError naming the field."""

from __future__ import annotations

import pytest

import paretoul
from paretoul.coerce import coerce
from paretoul.errors import UserError

ACCEPTED = [
    (int, "3", 3), (int, "3.0", 3), (int, 3.0, 3), (int, "1e3", 1000), (int, " 7 ", 7),
    (float, "1e-3", 1e-3), (float, 2, 2.0), (float, "-0.5", -0.5),
    (bool, "yes", True), (bool, "Off", False), (bool, "1", True), (bool, False, False),
    (float | None, "none", None), (float | None, "NULL", None), (float | None, None, None),
    (float | None, "0.3", 0.3), (str, 5, "5"),
]
REFUSED = [
    (int, "3.5", "is not an integer"), (int, True, "is not an integer"), (int, "x", "is not an integer"),
    (int, "inf", "is not an integer"), (int, 10**400, "too large a number"),
    (float, "nan", "is not a finite number"), (float, "1e400", "is not a finite number"),
    (float, True, "is not a number"), (bool, "maybe", "is not a boolean"), (bool, 2, "is not a boolean"),
    (float | None, "nothing", "is not a number"),
]


@pytest.mark.parametrize("typ, value, expected", ACCEPTED, ids=lambda v: repr(v))
def test_what_a_user_types_is_read_as_before(typ, value, expected) -> None:
    got = coerce("param.x", typ, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("typ, value, why", REFUSED, ids=lambda v: repr(v)[:20])
def test_anything_else_is_one_error_naming_the_field(typ, value, why) -> None:
    with pytest.raises(UserError) as e:
        coerce("recipe.epochs", typ, value)
    assert e.value.field == "recipe.epochs" and why in e.value.message
    assert "\n" not in str(e.value)


def test_method_parameters_and_recipe_overrides_read_text_the_same_way() -> None:
    from paretoul.cli.run import _recipe_overrides

    assert paretoul.get_method("ft").config({"epochs": "3.0"}).epochs == 3
    assert _recipe_overrides(["epochs=3.0", "augment=yes"]) == {"epochs": 3, "augment": True}
    with pytest.raises(UserError, match=r"^recipe\.augment: 'maybe' is not a boolean"):
        _recipe_overrides(["augment=maybe"])


def test_a_run_option_that_is_not_a_field_is_one_error_not_an_attribute_error() -> None:
    from paretoul.one_run import configure

    for name in ("setting", "validate", "colour"):
        with pytest.raises(UserError, match=rf"^{name}: unknown run option; allowed: dataset, model"):
            configure(**{name: 1})
    assert configure(seed=3).setting == paretoul.Setting("digits", "mlp", "random:0.1")
