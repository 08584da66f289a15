"""Study specs: a YAML file validated into typed objects before anything runs.

Every mistake becomes one :class:`~paretoul.errors.UserError` naming the field
(``arms[2].searcher.sampler``), the value and what is allowed.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from paretoul.data import DATASETS, ForgetSpec
from paretoul.errors import UserError
from paretoul.methods import METHODS, Param, get_method
from paretoul.metrics import METRICS
from paretoul.models import MODELS
from paretoul.study.comparisons import ArmSetting, Pairing, check_pairing

SAMPLERS = ("nsga2", "tpe", "gp", "random")
SEARCHERS = ("optuna", "pymoo", "grid", "random")


class _Strict(BaseModel):
    # NaN and infinity are never meaningful here (a range bound, a GPU share, a reference point)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Objective(_Strict):
    metric: str
    direction: Literal["min", "max"] | None = None
    """Default: the metric's own direction (``match`` metrics cannot be objectives as such)."""

    @field_validator("metric")
    @classmethod
    def _known(cls, v: str) -> str:
        METRICS.get(v)
        return v


class SearcherSpec(_Strict):
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


class Range(_Strict):
    """Narrows a declared search dimension; only the given keys change."""

    low: float | None = None
    high: float | None = None
    log: bool | None = None
    choices: list[Any] | None = None


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

    @field_validator("method")
    @classmethod
    def _known(cls, v: str) -> str:
        METHODS.get(v)
        return v


class Comparison(_Strict):
    """A declared Jacobian-descent vs fixed-weight comparison: each side an arm name or a list."""

    name: str | None = None
    jd: list[str]
    fixed: list[str]
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

    @model_validator(mode="after")
    def _arms(self) -> StudySpec:
        names = [a.name or a.method for a in self.arms]
        for i, n in enumerate(names):
            if n in names[:i]:
                raise UserError(f"arms[{i}].name", f"arm names must be unique; {n!r} is also "
                                f"arms[{names.index(n)}]'s (give arms distinct names)")
        return self

    # -- derived ---------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self.model or DATASETS.get(self.dataset).default_model

    def arm_name(self, i: int) -> str:
        return self.arms[i].name or self.arms[i].method

    def directions(self) -> list[str]:
        return [o.direction or METRICS.get(o.metric).direction for o in self.objectives]

    def units(self) -> list[tuple[int, int, str]]:
        """Every search run of the study: ``(arm index, replicate, unit name)``, one per replicate
        of each arm (see :func:`unit_name`)."""
        return [(i, r, unit_name(self.arm_name(i), r, arm.replicates))
                for i, arm in enumerate(self.arms) for r in range(arm.replicates)]


REPLICATE_MARK = "@r"


def unit_name(arm: str, replicate: int, replicates: int = 2) -> str:
    """The name of one search run of an arm: the arm's own name for its first (or only)
    replicate, ``ARM@rK`` for replicate K >= 1 (its Optuna study and trial keys use it)."""
    return arm if replicate == 0 else f"{arm}{REPLICATE_MARK}{replicate}"


def _key(key: object) -> str:
    """``.key`` for a readable key, ``[repr]`` for one that is empty or holds a line break or
    other unprintable character (so a field name is always one line)."""
    return f".{key}" if isinstance(key, str) and key.isprintable() and key.strip() else f"[{key!r}]"


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else _key(part)
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
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return UserError(field, "unknown key")
    value = err.get("input")
    text = "" if isinstance(value, dict | list) or value is None else _short_repr(value)
    shown = f" (got {text})" if text else ""
    return UserError(field, f"{msg}{shown}")


# ---------------------------------------------------------------------------------------------
# The resolved search space of one arm


def arm_space(spec: StudySpec, i: int) -> tuple[dict[str, Param], dict[str, Any]]:
    """``(searched dimensions, fixed parameters)`` of arm ``i``, checked against the method."""
    arm = spec.arms[i]
    where = f"arms[{i}]"
    method = get_method(arm.method)
    declared = {p.name: p for p in method.space}
    fields = set(method.Config.field_names())
    for key in arm.fixed:
        if key not in fields:
            raise UserError(f"{where}.fixed{_key(key)}", f"not a parameter of {arm.method}; allowed: "
                            f"{', '.join(sorted(fields))}")
    try:
        method.config(arm.fixed)
    except UserError as e:
        raise UserError(f"{where}.fixed.{e.field.removeprefix('param.')}", e.message) from None
    for key in list(arm.space) + list(arm.search or []):
        if key not in declared:
            raise UserError(f"{where}.space{_key(key)}" if key in arm.space else f"{where}.search",
                            f"{key!r} is not in {arm.method}'s search space; allowed: "
                            f"{', '.join(sorted(declared)) or '(none)'}")
    if arm.searcher.type == "grid":
        if not arm.grid and method.space:  # a method without knobs (retrain): its one point
            raise UserError(f"{where}.grid", "a grid arm needs grid: {param: [values, ...]}")
        for key, values in arm.grid.items():
            if key not in fields:
                raise UserError(f"{where}.grid{_key(key)}", f"not a parameter of {arm.method}")
            if not values:
                raise UserError(f"{where}.grid.{key}", "needs at least one value")
            if key in arm.fixed:
                raise UserError(f"{where}.grid.{key}", "is also fixed")
            for v in values:
                try:
                    method.config({**arm.fixed, key: v})
                except UserError as e:
                    raise UserError(f"{where}.grid.{key}", f"value {v!r}: {e.message}") from None
        return {}, dict(arm.fixed)
    if arm.grid:
        raise UserError(f"{where}.grid", f"only grid arms take a grid (searcher is {arm.searcher.type})")
    names = arm.search if arm.search is not None else [
        n for n, p in declared.items() if n not in arm.fixed and p.searched_by_default]
    searched: dict[str, Param] = {}
    for n in names:
        if n in arm.fixed:
            raise UserError(f"{where}.search", f"{n!r} is both searched and fixed")
        searched[n] = _narrow(declared[n], arm.space.get(n), f"{where}.space.{n}")
    for n in arm.space:
        if n not in searched:
            raise UserError(f"{where}.space.{n}", "narrows a dimension that is not searched")
    if not searched:
        raise UserError(f"{where}.search", "nothing to search; use a grid arm or fewer fixed parameters")
    return searched, dict(arm.fixed)


def _narrow(p: Param, r: Range | None, field: str) -> Param:
    if r is None:
        return p
    if p.kind == "categorical":
        if r.low is not None or r.high is not None or r.log is not None:
            raise UserError(field, "a categorical dimension takes choices, not low/high/log")
        choices = tuple(r.choices) if r.choices is not None else p.choices
        bad = [c for c in choices if c not in p.choices]
        if bad or not choices:
            raise UserError(field, f"choice {bad[0] if bad else None!r} not allowed; allowed: "
                            f"{', '.join(map(str, p.choices))}")
        return Param(p.name, p.kind, choices=choices, help=p.help)
    if r.choices is not None:
        raise UserError(field, "a numeric dimension takes low/high/log, not choices")
    low = p.low if r.low is None else r.low
    high = p.high if r.high is None else r.high
    log = p.log if r.log is None else r.log
    if low > high:
        raise UserError(field, f"low {low:g} > high {high:g}")
    if log and low <= 0:
        raise UserError(field, f"a log range must be > 0 (low is {low:g})")
    if low < p.low or high > p.high:
        raise UserError(field, f"[{low:g}, {high:g}] leaves the declared range [{p.low:g}, {p.high:g}]")
    if p.kind == "int" and (low != int(low) or high != int(high)):
        raise UserError(field, "an integer range needs whole-number bounds")
    return Param(p.name, p.kind, low, high, log, help=p.help)


def arm_budget(spec: StudySpec, i: int) -> int:
    """The number of trials arm ``i`` runs."""
    arm = spec.arms[i]
    where = f"arms[{i}]"
    s = arm.searcher
    if s.type == "grid":
        size = math.prod(len(v) for v in arm.grid.values())
        if arm.budget is not None and arm.budget > size:
            raise UserError(f"{where}.budget", f"{arm.budget} exceeds the grid's {size} points")
        return arm.budget or size
    if s.type == "pymoo":
        if s.population is None or s.generations is None:
            raise UserError(f"{where}.searcher", "a pymoo arm needs population and generations")
        total = s.population * s.generations
        if arm.budget is not None and arm.budget != total:
            raise UserError(f"{where}.budget", f"{arm.budget} != population x generations ({total})")
        return total
    if s.generations is not None:
        raise UserError(f"{where}.searcher.generations", "generations are for pymoo arms")
    if s.population is not None and not (s.type == "optuna" and s.sampler == "nsga2"):
        raise UserError(f"{where}.searcher.population", "population is for pymoo and optuna nsga2 arms")
    if s.startup_trials is not None and not (s.type == "optuna" and s.sampler in ("tpe", "gp")):
        raise UserError(f"{where}.searcher.startup_trials", "startup_trials is for optuna tpe and gp arms")
    if arm.budget is None:
        raise UserError(f"{where}.budget", f"an {s.type} arm needs a budget (number of trials)")
    return arm.budget


def grid_points(arm: Arm) -> list[dict[str, Any]]:
    keys = list(arm.grid)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*arm.grid.values())]


def validate(spec: StudySpec) -> None:
    """Checks that need the registries: objectives' directions, each arm's space and budget."""
    for j, (o, d) in enumerate(zip(spec.objectives, spec.directions(), strict=True)):
        if d not in ("min", "max"):
            raise UserError(f"objectives[{j}].direction", f"{o.metric} is a 'match' metric; "
                            "give direction: min or max, or use a gap metric")
    if spec.hv_reference is not None and len(spec.hv_reference) != len(spec.objectives):
        raise UserError("hv_reference", f"{len(spec.hv_reference)} values for "
                        f"{len(spec.objectives)} objectives")
    for i in range(len(spec.arms)):
        arm_space(spec, i)
        arm_budget(spec, i)
        _check_replicates(spec, i)
    settings = arm_settings(spec)
    for i in range(len(spec.arms)):
        _check_preference(settings[spec.arm_name(i)], i)
        _check_reference(spec, settings[spec.arm_name(i)], i)
    if spec.comparisons is not None:
        for j, pairing in enumerate(declared_pairings(spec)):
            problem = check_pairing(pairing, settings)
            if problem:
                raise UserError(f"comparisons[{j}].{problem[0]}", problem[1])


def _check_preference(arm: ArmSetting, i: int) -> None:
    """A ``raul`` arm that varies ``w`` must hold its aggregator to ones that take a preference
    (else some of its trials would fail on the pair)."""
    from paretoul.jd import PREFERENCE

    how, _ = arm.values.get("w", ("fixed", None))
    if arm.method != "raul" or how == "fixed":
        return
    agg_how, agg = arm.values.get("aggregator", ("fixed", None))
    values = [agg] if agg_how == "fixed" else list(agg) if agg_how == "grid" else list(agg[4])
    bad = [v for v in values if v not in PREFERENCE]
    if bad:
        raise UserError(f"arms[{i}].aggregator", f"{bad[0]} takes no preference, but the arm varies w; "
                        f"fix aggregator to one of {', '.join(PREFERENCE)}")


def _check_reference(spec: StudySpec, arm: ArmSetting, i: int) -> None:
    """An arm whose forget target needs the held-out reference set cannot run without one."""
    if "reference" not in arm.values or spec.reference_fraction > 0:
        return
    how, what = arm.values["reference"]
    values = [what] if how == "fixed" else list(what) if how == "grid" else list(what[4])
    random = ForgetSpec.parse(spec.forget).kind != "class"
    needs = [v for v in values if v not in ("uniform", "auto") or (v == "auto" and random)]
    if needs:
        why = ("auto picks rank-calibrated for random forgetting" if needs[0] == "auto"
               else f"{needs[0]} is computed from the reference set")
        raise UserError(f"arms[{i}].reference", f"{why}, but reference_fraction is 0; give "
                        "reference_fraction > 0 or fix reference: uniform")


def _check_replicates(spec: StudySpec, i: int) -> None:
    arm = spec.arms[i]
    if arm.replicates == 1:
        return
    where = f"arms[{i}].replicates"
    if arm.searcher.type == "grid":
        raise UserError(where, f"{arm.replicates}: a grid arm is deterministic, so its replicates "
                        "would repeat it (allowed: 1)")
    if arm.searcher.seed + arm.replicates - 1 >= 2**32:
        raise UserError(where, f"{arm.replicates}: replicate seeds seed..seed+{arm.replicates - 1} "
                        f"must stay below 2^32 (searcher.seed is {arm.searcher.seed})")
    taken = {spec.arm_name(j) for j in range(len(spec.arms))}
    clash = [unit_name(spec.arm_name(i), r) for r in range(1, arm.replicates)
             if unit_name(spec.arm_name(i), r) in taken]
    if clash:
        raise UserError(where, f"replicate {clash[0]!r} has the name of another arm; rename that arm")


def arm_settings(spec: StudySpec) -> dict[str, ArmSetting]:
    """What every parameter of every arm is held at (fixed, searched range, or grid values)."""
    out = {}
    for i, arm in enumerate(spec.arms):
        searched, fixed = arm_space(spec, i)
        method = get_method(arm.method)
        values: dict[str, tuple[str, Any]] = {
            k: ("fixed", v) for k, v in method.config(fixed).to_dict().items()}
        for k, p in searched.items():
            values[k] = ("searched", (p.kind, p.low, p.high, p.log, tuple(p.choices or ())))
        for k, vs in arm.grid.items():
            values[k] = ("grid", tuple(method.config({**fixed, k: v}).to_dict()[k] for v in vs))
        out[spec.arm_name(i)] = ArmSetting(spec.arm_name(i), arm.method, values, arm.replicates)
    return out


def declared_pairings(spec: StudySpec) -> list[Pairing]:
    """The spec's comparisons as :class:`Pairing` values (named ``JD vs FIXED`` by default)."""
    out = []
    for c in spec.comparisons or []:
        jd, fixed = c.sides()
        out.append(Pairing(c.name or f"{' + '.join(jd)} vs {' + '.join(fixed)}", jd, fixed,
                           paired_by=c.paired_by))
    return out


def check_data_root(spec: StudySpec) -> None:
    """A dataset read from files needs an existing ``data_root`` (checked before Ray starts;
    not part of :func:`validate`, so a spec can be checked on a machine without the data)."""
    info = DATASETS.get(spec.dataset)
    if info.locate is not None:
        info.locate(Path(spec.data_root).expanduser())
        return
    if info.needs_files and not Path(spec.data_root).expanduser().is_dir():
        raise UserError("data_root", f"no such directory: {spec.data_root!r} ({spec.dataset} is read "
                        f"from there; fetch it with `paretoul run --dataset {spec.dataset} "
                        f"--data-root DIR --download`)")


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
    validate(spec)
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
