"""The study spec's schema: pydantic models of a YAML study file (what each key means).

Name lookups (datasets, models, methods, metrics) happen in field validators; the rules that need
a method's declared space or more than one arm are in :mod:`paretoul.study.spec.checks`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from paretoul.data import DATASETS, ForgetSpec
from paretoul.errors import UserError
from paretoul.methods import METHODS
from paretoul.metrics import METRICS
from paretoul.models import MODELS
from paretoul.setting import Setting
from paretoul.study.spec.checks import validate
from paretoul.study.spec.names import unit_name
from paretoul.study.spec.resolve import ResolvedArm


class KeyRuleError(ValueError):
    """A model validator's error about one of its model's keys: reported at that key's path
    (``arms[0].searcher.population``), not the model's."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


def _registered(registry: Any, name: str) -> str:
    """``name`` if ``registry`` knows it (else its one-line error listing the known names)."""
    registry.get(name)
    return name


class _Strict(BaseModel):
    # NaN and infinity are never meaningful here (a range bound, a GPU share, a reference point)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Objective(_Strict):
    metric: str
    direction: Literal["min", "max"] | None = None
    """Default: the metric's own direction (``match`` metrics cannot be objectives as such)."""

    _known = field_validator("metric")(classmethod(lambda cls, v: _registered(METRICS, v)))


class SearcherSpec(_Strict):
    """How an arm searches. One model for every ``type`` (its validator says which keys each type
    takes) rather than a union of one model per type: a study directory stores its spec with
    every key written out, and an arm's identity in the database (its digest) hashes them, so
    studies recorded before stay readable and resumable."""

    type: Literal["optuna", "pymoo", "grid", "random"]
    sampler: Literal["nsga2", "tpe", "gp", "random"] = "nsga2"
    """For ``optuna`` arms."""
    seed: int = Field(default=0, ge=0, lt=2**32)
    population: int | None = Field(default=None, ge=2)
    """Individuals per generation: ``pymoo`` arms (required) and Optuna ``nsga2`` (default 50)."""
    startup_trials: int | None = Field(default=None, ge=1)
    """Random trials before Optuna's ``tpe`` or ``gp`` model takes over (Optuna's default 10)."""
    generations: int | None = Field(default=None, ge=1)
    """For ``pymoo`` arms."""

    @model_validator(mode="after")
    def _keys_of_its_type(self) -> SearcherSpec:
        """Each key only where the searcher type (and Optuna sampler) uses it."""
        if self.type == "pymoo":
            if self.population is None or self.generations is None:
                raise ValueError("a pymoo arm needs population and generations")
            return self
        if self.generations is not None:
            raise KeyRuleError("generations", "generations are for pymoo arms")
        if self.population is not None and not (self.type == "optuna" and self.sampler == "nsga2"):
            raise KeyRuleError("population", "population is for pymoo and optuna nsga2 arms")
        if self.startup_trials is not None and not (self.type == "optuna" and self.sampler in ("tpe", "gp")):
            raise KeyRuleError("startup_trials", "startup_trials is for optuna tpe and gp arms")
        return self


class Range(_Strict):
    """Narrows a declared search dimension; only the given keys change."""

    low: int | float | None = None  # an integer stays one (epochs 1..4, not 1.0..4.0)
    high: int | float | None = None
    log: bool | None = None
    choices: list[Any] | None = None


class Fidelity(_Strict):
    """Successive halving over seeds (see :mod:`paretoul.study.storage.rungs`): each new
    configuration runs on the study's first ``seeds[0]`` seeds; the best ``1 / eta`` at each rung
    (by non-dominated rank, crowding distance breaking ties) go on to the next, ending on all the
    study's seeds. Only configurations measured on every seed enter fronts, comparisons, tables,
    ``choose`` and ``validate``."""

    seeds: list[Annotated[int, Field(ge=1)]] = Field(min_length=2)
    """Seeds per rung, increasing; the last is the study's number of seeds."""
    eta: int = Field(default=3, ge=2)
    """Keep the top ``1 / eta`` of the configurations finished at a rung."""
    stop: Literal["rank", "significant"] = "rank"
    """``rank``: a configuration outside the top stops there. ``significant``: it stops only if
    another configuration at its rung also dominates it beyond seed noise (a one-sided paired
    t-test at 0.05 on every objective over the rung's seeds; needs ``seeds[0] >= 2``)."""
    promote: Literal["asynchronous", "synchronous"] = "asynchronous"
    """``asynchronous``: a configuration goes on as soon as it ranks in the top ``1 / eta`` of
    those finished so far at its rung (MOASHA; keeps every slot busy, promotes more than
    ``1 / eta`` in all). ``synchronous``: a rung promotes once it is complete, exactly its top
    ``floor(m / eta)`` (successive halving; an arm's budget then bounds its seed-runs)."""


class Arm(_Strict):
    name: str | None = None
    method: str
    searcher: SearcherSpec
    budget: int | None = Field(default=None, ge=1)
    """Trials (parameter sets) to run; for grid arms the grid size, for pymoo population x generations."""
    fixed: dict[str, Any] = Field(default_factory=dict)
    """Method parameters held at a value (not searched)."""
    space: dict[str, Range] = Field(default_factory=dict)
    """Narrowed ranges of the method's declared search dimensions."""
    search: list[str] | None = None
    """Which declared dimensions to search (default: all not fixed)."""
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    """For grid arms: the values of each parameter; trials = the Cartesian product."""
    replicates: int = Field(default=1, ge=1, le=100)
    """Independent copies of the arm's searcher (searcher seeds seed, seed+1, ...), each with the
    arm's budget: the comparison's interval then resamples search runs as well as seeds."""
    fidelity: Fidelity | None = None
    """Successive halving over seeds; None: every configuration runs on every seed. The budget
    counts configurations."""

    _known = field_validator("method")(classmethod(lambda cls, v: _registered(METHODS, v)))


_ARM_NAMES = {"anyOf": [{"type": "string"},
                        {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
"""A comparison side as the spec may write it: one arm name or a list of them."""


class Comparison(_Strict):
    """A declared Jacobian-descent vs fixed-weight comparison: each side an arm name or a list."""

    name: str | None = None
    jd: Annotated[list[str], WithJsonSchema(_ARM_NAMES)]
    fixed: Annotated[list[str], WithJsonSchema(_ARM_NAMES)]
    paired_by: str | None = None
    """``w``: pair each JD trial with the fixed-weight trial at the same w (both sides grid the same
    values); left out: the sides' fronts are compared unpaired."""

    @field_validator("jd", "fixed", mode="before")
    @classmethod
    def _side(cls, v: Any) -> list[str]:
        names = [v] if isinstance(v, str) else v
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError("must be an arm name or a non-empty list of arm names")
        return names

    def sides(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(self.jd), tuple(self.fixed)


class Resources(_Strict):
    cpus: float = Field(default=1.0, gt=0)
    gpus: float = Field(default=0.0, ge=0)

    @field_validator("gpus")
    @classmethod
    def _fraction(cls, v: float) -> float:
        if v > 1 and v != int(v):
            raise ValueError("a GPU share above 1 must be a whole number of GPUs")
        return v


class StudySpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    dataset: str = "digits"
    model: str | None = None
    forget: str = "random:0.1"
    seeds: list[Annotated[int, Field(ge=0, lt=2**32)]] = Field(default_factory=lambda: [0], min_length=1)
    """Every trial is evaluated on each seed (splits, original, oracle and method seed)."""
    reference_fraction: float = Field(default=0.1, ge=0, lt=1)
    data_root: str = "data"
    recipe: dict[str, Any] = Field(default_factory=dict)
    """Overrides of the dataset's default training recipe (original and oracle)."""
    device: str = "auto"
    objectives: list[Objective] = Field(
        default_factory=lambda: [Objective(metric="forget_gap"), Objective(metric="retain_gap")],
        min_length=1,
    )
    hv_reference: list[float] | None = None
    """Hypervolume reference point in the objectives' own units (default: derived, printed)."""
    arms: list[Arm] = Field(min_length=1)
    resources: Resources = Field(default_factory=Resources)
    max_concurrent: int | None = Field(default=None, ge=1)
    ray_address: str | None = None
    storage: str | None = None
    max_failures: int = Field(default=0, ge=0)
    """Retries of a trial whose worker died (a Python error in a method is not retried)."""
    trial_timeout_s: float | None = Field(default=None, gt=0)
    """Wall-clock limit of one trial (all seeds); a trial past it stops at its next training step
    (or between metrics) and is recorded failed."""
    trial_grace_s: float = Field(default=30.0, gt=0)
    """With ``trial_timeout_s``: a trial still running this long past its limit (stuck where it
    cannot check it, e.g. in one native call) has its worker ended by the driver."""
    comparisons: list[Comparison] | None = None
    """Declared JD-vs-fixed comparisons (checked matched at load); None: paired automatically."""
    storage_retry_s: float = Field(default=300.0, ge=0)
    """How long the launcher keeps retrying a database that stopped answering before it stops
    the study (trials in flight are then rerun by ``study resume``)."""

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, v: str) -> str:
        DATASETS.get(v)
        return v

    @field_validator("model")
    @classmethod
    def _model(cls, v: str | None) -> str | None:
        if v is not None:
            MODELS.get(v)
        return v

    @field_validator("forget")
    @classmethod
    def _forget(cls, v: str) -> str:
        return str(ForgetSpec.parse(v))

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("seeds must be distinct")
        return v

    _resolved: tuple[ResolvedArm, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _arms(self) -> StudySpec:
        """Unique arm names, then the rules across fields and arms (:func:`.checks.validate`):
        each arm is resolved once, here."""
        names = [a.name or a.method for a in self.arms]
        for i, n in enumerate(names):
            if n in names[:i]:
                raise UserError(f"arms[{i}].name", f"arm names must be unique; {n!r} is also "
                                f"arms[{names.index(n)}]'s (give arms distinct names)")
        self._resolved = validate(self)
        return self

    @property
    def resolved(self) -> tuple[ResolvedArm, ...]:
        """Every arm resolved against its method (space, fixed values, grid points, budget)."""
        return self._resolved

    # -- derived ---------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self.model or DATASETS.get(self.dataset).default_model

    @property
    def setting(self) -> Setting:
        """What every trial's data, splits, original and oracle are made from."""
        return Setting(self.dataset, self.model_name, self.forget, self.reference_fraction,
                       self.recipe, self.data_root, self.device)

    def arm_name(self, i: int) -> str:
        return self.arms[i].name or self.arms[i].method

    def directions(self) -> list[str]:
        return [o.direction or METRICS.get(o.metric).direction for o in self.objectives]

    def units(self) -> list[tuple[int, int, str]]:
        """Every search run of the study: ``(arm index, replicate, unit name)``, one per replicate
        of each arm (see :func:`unit_name`)."""
        return [(i, r, unit_name(self.arm_name(i), r, arm.replicates))
                for i, arm in enumerate(self.arms) for r in range(arm.replicates)]


def spec_json_schema() -> dict[str, Any]:
    """The study spec's JSON Schema (draft 2020-12, from the pydantic models): what
    ``paretoul study schema`` prints, for editors that validate a spec file as it is typed
    (e.g. a ``# yaml-language-server: $schema=...`` line)."""
    out = StudySpec.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "paretoul study spec", **{k: v for k, v in out.items() if k != "title"}}
