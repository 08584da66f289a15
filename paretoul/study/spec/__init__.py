"""What a study means: the spec's schema, its reading from YAML, the resolution of each arm
(space, fixed values, budget) and the checks across arms, comparisons included."""

from __future__ import annotations

from paretoul.study.spec.checks import check_data_root, validate
from paretoul.study.spec.comparisons import ArmSetting, Pairing
from paretoul.study.spec.load import load_spec, parse_spec
from paretoul.study.spec.names import unit_name
from paretoul.study.spec.resolve import ResolvedArm, arm_settings, declared_pairings, field_key
from paretoul.study.spec.schema import (
    Arm,
    Comparison,
    Fidelity,
    Objective,
    Range,
    Resources,
    SearcherSpec,
    StudySpec,
    spec_json_schema,
)

__all__ = [
    "Arm", "ArmSetting", "Comparison", "Fidelity", "Objective", "Pairing", "Range",
    "ResolvedArm", "Resources", "SearcherSpec", "StudySpec", "arm_settings",
    "check_data_root", "declared_pairings", "field_key", "load_spec", "parse_spec",
    "spec_json_schema", "unit_name", "validate",
]
