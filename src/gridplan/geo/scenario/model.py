"""The scenario file: a base plan, targets per level, and ordered steps (YAML).

Example::

    name: 青阳街道 named compound assignments
    base:
      plan: latest            # a stored plan id, or "latest"
    targets:
      community: {households: [1000, 3000]}
      grid: {households: [300, 500]}
    seed: 0
    steps:
      - action: assign_compound
        compound: 新世纪豪园
        community: 青新社区
      - action: regrid
        communities: [青新社区]

A base can instead be files (``units`` with a ``community_field``, optional ``roads`` and
``compounds``); relative paths are relative to the scenario file.

Steps are numbered from 1, in parse errors (``step 2 (merge): communities: ...``) as in the
run's report and its failures. :data:`STEP_TYPES` lists the step models; their JSON schema and
the command line's step reference are generated from them (:mod:`gridplan.geo.scenario.schema`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from gridplan.errors import InputError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AreaSpec(_Strict):
    """A polygon given inline: WKT or a bounding box, in ``crs`` (default EPSG:4326)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["wkt"], "properties": {"wkt": {"type": "string"}}},
                {"required": ["bbox"], "properties": {"bbox": {"type": "array"}}},
            ]
        }
    )

    wkt: str | None = Field(default=None, description="the polygon as WKT")
    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="the polygon as a box: minx, miny, maxx, maxy"
    )
    crs: str = Field(default="EPSG:4326", description="the CRS of wkt or bbox")

    @model_validator(mode="after")
    def _one(self) -> AreaSpec:
        if (self.wkt is None) == (self.bbox is None):
            raise ValueError("give exactly one of wkt or bbox")
        return self


class BaseSpec(_Strict):
    """Where the base plan comes from: a stored plan, or files."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["plan"],
                    "properties": {"plan": {"not": {"type": "null"}}, "units": {"type": "null"}},
                },
                {
                    "required": ["units", "community_field"],
                    "properties": {
                        "plan": {"type": "null"},
                        "units": {"type": "string"},
                        "community_field": {"type": "string"},
                    },
                },
            ]
        }
    )

    plan: int | Literal["latest"] | None = Field(
        default=None, description="a stored plan id, or latest; or units"
    )
    units: str | None = Field(default=None, description="a units file (instead of plan)")
    community_field: str | None = Field(
        default=None, description="the units file's community column (needed with units)"
    )
    grid_field: str | None = Field(default=None, description="its grid column")
    unit_id_field: str | None = Field(default=None, description="its unit id column")
    households_field: str | None = Field(default=None, description="its households column")
    residents_field: str | None = Field(default=None, description="its residents column")
    persons_per_household: float | None = Field(
        default=None, gt=0, description="households = residents / this, when not given"
    )
    roads: str | None = Field(default=None, description="a roads file (cuts prefer roads)")
    compounds: str | None = Field(default=None, description="a compounds file")
    compound_id_field: str | None = Field(default=None, description="its compound id column")

    @model_validator(mode="after")
    def _source(self) -> BaseSpec:
        if (self.plan is None) == (self.units is None):
            raise ValueError("give either plan (a stored plan id or 'latest') or units (a file)")
        if self.units is not None and self.community_field is None:
            raise ValueError("a units file needs community_field (each unit's community)")
        return self


class Band(_Strict):
    """A band per level: households and/or residents."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["households"], "properties": {"households": {"type": "array"}}},
                {"required": ["residents"], "properties": {"residents": {"type": "array"}}},
            ]
        }
    )

    households: tuple[float, float] | None = Field(default=None, description="low, high")
    residents: tuple[float, float] | None = Field(default=None, description="low, high")

    @model_validator(mode="after")
    def _some(self) -> Band:
        if self.households is None and self.residents is None:
            raise ValueError("give a households or a residents band (low, high)")
        return self


class Targets(_Strict):
    """Bands per level."""

    community: Band = Band(households=(1000.0, 3000.0))
    grid: Band = Band(households=(300.0, 500.0))


class AssignCompound(_Strict):
    """Put a compound's units (or several compounds') into a community."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["compound"],
                    "properties": {"compound": {"type": "string", "minLength": 1}},
                },
                {
                    "required": ["compounds"],
                    "properties": {"compounds": {"type": "array", "minItems": 1}},
                },
            ]
        }
    )

    action: Literal["assign_compound"]
    community: str = Field(description="the receiving community (id or name)")
    compound: str | None = Field(default=None, description="a compound (id or name); or compounds")
    compounds: list[str] | None = Field(default=None, description="several compounds")

    @model_validator(mode="after")
    def _some(self) -> AssignCompound:
        if not self.compound and not self.compounds:
            raise ValueError("name a compound (compound: X) or compounds: [X, Y]")
        return self

    def names(self) -> list[str]:
        return ([self.compound] if self.compound else []) + list(self.compounds or [])


class MoveUnits(_Strict):
    """Move units (by id) into a community."""

    action: Literal["move_units"]
    units: list[str] = Field(min_length=1, description="unit ids")
    community: str = Field(description="the receiving community (id or name)")


class Merge(_Strict):
    """Merge communities into one (named ``into``, default the first)."""

    action: Literal["merge"]
    communities: list[str] = Field(min_length=2, description="the communities (ids or names)")
    into: str | None = Field(
        default=None, description="the merged community: one of them, or a new name"
    )


class Split(_Strict):
    """Split a community into ``parts`` (or as many as ``into`` names) within the band."""

    action: Literal["split"]
    community: str = Field(description="the community to split (id or name)")
    parts: int | None = Field(
        default=None, ge=2, le=1000, description="how many parts (default 2, at most 1000)"
    )
    into: list[str] | None = Field(
        default=None, description="names of the parts (default: the old id, then id-2, ...)"
    )


class Create(_Strict):
    """Create a community from an area, a list of compounds, or a list of units."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["area"], "properties": {"area": {"type": "object"}}},
                {
                    "required": ["compounds"],
                    "properties": {"compounds": {"type": "array", "minItems": 1}},
                },
                {
                    "required": ["units"],
                    "properties": {"units": {"type": "array", "minItems": 1}},
                },
            ]
        }
    )

    action: Literal["create"]
    name: str = Field(description="the new community's name (and id)")
    area: AreaSpec | None = Field(
        default=None, description="the units inside a polygon (wkt or bbox, in crs)"
    )
    compounds: list[str] | None = Field(default=None, description="compounds (ids or names)")
    units: list[str] | None = Field(default=None, description="unit ids")
    code: str | None = Field(default=None, description="the community's code")

    @model_validator(mode="after")
    def _some(self) -> Create:
        if not (self.area or self.compounds or self.units):
            raise ValueError("give an area, compounds or units for the new community")
        return self


class Redistrict(_Strict):
    """Re-partition all (or named) communities within the band."""

    action: Literal["redistrict"]
    communities: Literal["all"] | list[str] = Field(
        default="all", description="all, or the communities to redistrict (ids or names)"
    )
    keep_names: bool = Field(default=True, description="keep the old ids where areas persist")
    minimal_change: bool = Field(default=True, description="move the fewest households")
    k: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="how many communities (default: as the band allows)",
    )
    time_limit: float | None = Field(default=None, gt=0, description="seconds to search")


class Regrid(_Strict):
    """Divide all (or named) communities into grids within the grid band (a unit above the
    ceiling becomes a grid of its own; the step's summary says so)."""

    action: Literal["regrid"]
    communities: Literal["all"] | list[str] = Field(
        default="all", description="all, or the communities to grid (ids or names)"
    )
    time_limit: float | None = Field(default=None, gt=0, description="seconds to search")


Step = Annotated[
    AssignCompound | MoveUnits | Merge | Split | Create | Redistrict | Regrid,
    Field(discriminator="action"),
]

#: The step models, in the order of the ``Step`` union (each one ``action`` value).
STEP_TYPES: tuple[type[BaseModel], ...] = get_args(get_args(Step)[0])
#: Each step model by its ``action``.
STEP_ACTIONS: dict[str, type[BaseModel]] = {
    get_args(t.model_fields["action"].annotation)[0]: t for t in STEP_TYPES
}


class Scenario(_Strict):
    """A scenario file."""

    name: str = Field(description="the new plan's name")
    description: str = ""
    base: BaseSpec = Field(description="the plan the steps start from (fields below)")
    targets: Targets = Field(
        default=Targets(), description="a band per level: households or residents, low to high"
    )
    seed: int = Field(
        default=0,
        le=2**53 - 1,
        json_schema_extra={"minimum": 0},
        description="random seed (0 to 2**53 - 1, exact in JSON)",
    )
    steps: list[Step] = Field(min_length=1, description="run in order")
    # the scenario file's folder: set by parse_scenario, never read from the document
    _folder: str = PrivateAttr(default=".")

    @field_validator("seed")
    @classmethod
    def _seed(cls, value: int) -> int:
        # numpy's generators take non-negative seeds only
        if value < 0:
            raise ValueError(f"seed must be a non-negative integer, not {value}")
        return value

    def path(self, relative: str) -> Path:
        """A path from the file, relative to the scenario file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else Path(self._folder) / p

    @property
    def folder(self) -> str:
        """The folder relative paths in the file start from (the scenario file's)."""
        return self._folder

    def band(self, level: str) -> tuple[str, float, float]:
        """``(measure, lo, hi)`` of a level (households first)."""
        band: Band = getattr(self.targets, level)
        if band.households is not None:
            return "households", *band.households
        if band.residents is not None:
            return "residents", *band.residents
        raise InputError(f"targets.{level}: no households or residents band")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises
    ------
    InputError
        If the file is missing, is not YAML, or does not follow the scenario schema (every
        problem is named with its location, e.g. ``step 2 (merge): communities`` or
        ``targets.community.households``).
    """
    src = Path(path)
    if not src.is_file():
        raise InputError(f"{src}: no such scenario file")
    try:
        data = yaml.safe_load(src.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:  # e.g. saved as GBK by a Windows editor
        raise InputError(f"{src.name}: not UTF-8 text ({exc}); save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{src.name}: not valid YAML ({exc})") from exc
    return parse_scenario(data, folder=src.parent, source=src.name)


def parse_scenario(data: Any, *, folder: str | Path = ".", source: str = "scenario") -> Scenario:
    """Validate a scenario given as a mapping (e.g. parsed YAML or a JSON request body)."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a scenario is a mapping with name, base and steps")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors()[:5])
        raise InputError(f"{source}: {problems}") from exc
    scenario._folder = str(folder)
    return scenario


def _problem(err: ErrorDetails) -> str:
    """One validation error as ``where: what``; a step is named ``step N (action)``, N from 1.

    >>> _problem({"type": "too_short", "loc": ("steps", 0, "merge", "communities"),
    ...           "msg": "List should have at least 2 items after validation, not 1",
    ...           "input": ["A"]})
    'step 1 (merge): communities: List should have at least 2 items after validation, not 1'
    """
    loc = list(err["loc"])
    msg = err["msg"]
    ctx = err.get("ctx") or {}
    if err["type"] == "value_error" and "error" in ctx:
        msg = str(ctx["error"])  # without pydantic's "Value error, " prefix
    if len(loc) < 2 or loc[0] != "steps" or not isinstance(loc[1], int):
        where = ".".join(str(x) for x in loc)
        return f"{where}: {msg}" if where else msg
    head = f"step {loc[1] + 1}"
    rest = loc[2:]
    action: object = None
    if rest and rest[0] in STEP_ACTIONS:  # the discriminated union puts the action in loc
        action, rest = rest[0], rest[1:]
    elif isinstance(err.get("input"), dict):
        action = err["input"].get("action")
    if err["type"] == "union_tag_invalid":
        msg = f"unknown action; the actions are {', '.join(STEP_ACTIONS)}"
    elif err["type"] == "union_tag_not_found":
        msg = f"no action; the actions are {', '.join(STEP_ACTIONS)}"
    if isinstance(action, str):
        head += f" ({action})"
    elif action is not None:
        head += f" (action {action!r})"
    where = ".".join(str(x) for x in rest)
    return f"{head}: {where}: {msg}" if where else f"{head}: {msg}"
