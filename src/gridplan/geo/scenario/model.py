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
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gridplan.errors import InputError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AreaSpec(_Strict):
    """A polygon given inline: WKT or a bounding box, in ``crs`` (default EPSG:4326)."""

    wkt: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    crs: str = "EPSG:4326"

    @model_validator(mode="after")
    def _one(self) -> AreaSpec:
        if (self.wkt is None) == (self.bbox is None):
            raise ValueError("give exactly one of wkt or bbox")
        return self


class BaseSpec(_Strict):
    """Where the base plan comes from: a stored plan, or files."""

    plan: int | Literal["latest"] | None = None
    units: str | None = None
    community_field: str | None = None
    grid_field: str | None = None
    unit_id_field: str | None = None
    households_field: str | None = None
    residents_field: str | None = None
    persons_per_household: float | None = Field(default=None, gt=0)
    roads: str | None = None
    compounds: str | None = None
    compound_id_field: str | None = None

    @model_validator(mode="after")
    def _source(self) -> BaseSpec:
        if (self.plan is None) == (self.units is None):
            raise ValueError("give either plan (a stored plan id or 'latest') or units (a file)")
        if self.units is not None and self.community_field is None:
            raise ValueError("a units file needs community_field (each unit's community)")
        return self


class Band(_Strict):
    """A band per level: households and/or residents."""

    households: tuple[float, float] | None = None
    residents: tuple[float, float] | None = None


class Targets(_Strict):
    """Bands per level."""

    community: Band = Band(households=(1000.0, 3000.0))
    grid: Band = Band(households=(300.0, 500.0))


class AssignCompound(_Strict):
    """Put a compound's units (or several compounds') into a community."""

    action: Literal["assign_compound"]
    community: str
    compound: str | None = None
    compounds: list[str] | None = None

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
    units: list[str] = Field(min_length=1)
    community: str


class Merge(_Strict):
    """Merge communities into one (named ``into``, default the first)."""

    action: Literal["merge"]
    communities: list[str] = Field(min_length=2)
    into: str | None = None


class Split(_Strict):
    """Split a community into ``parts`` (or as many as ``into`` names) within the band."""

    action: Literal["split"]
    community: str
    parts: int | None = Field(default=None, ge=2)
    into: list[str] | None = None


class Create(_Strict):
    """Create a community from an area, a list of compounds, or a list of units."""

    action: Literal["create"]
    name: str
    area: AreaSpec | None = None
    compounds: list[str] | None = None
    units: list[str] | None = None
    code: str | None = None

    @model_validator(mode="after")
    def _some(self) -> Create:
        if not (self.area or self.compounds or self.units):
            raise ValueError("give an area, compounds or units for the new community")
        return self


class Redistrict(_Strict):
    """Re-partition all (or named) communities within the band."""

    action: Literal["redistrict"]
    communities: Literal["all"] | list[str] = "all"
    keep_names: bool = True
    minimal_change: bool = True
    k: int | None = Field(default=None, ge=1)
    time_limit: float | None = Field(default=None, gt=0)


class Regrid(_Strict):
    """Divide all (or named) communities into grids within the grid band (a unit above the
    ceiling becomes a grid of its own; the step's summary says so)."""

    action: Literal["regrid"]
    communities: Literal["all"] | list[str] = "all"
    time_limit: float | None = Field(default=None, gt=0)


Step = Annotated[
    AssignCompound | MoveUnits | Merge | Split | Create | Redistrict | Regrid,
    Field(discriminator="action"),
]


class Scenario(_Strict):
    """A scenario file."""

    name: str
    description: str = ""
    base: BaseSpec
    targets: Targets = Targets()
    seed: int = 0
    steps: list[Step] = Field(min_length=1)
    folder: str = Field(default=".", exclude=True)

    def path(self, relative: str) -> Path:
        """A path from the file, relative to the scenario file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else Path(self.folder) / p

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
        problem is named with its location, e.g. ``steps.2.community``).
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
        return Scenario.model_validate({**data, "folder": str(folder)})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InputError(f"{source}: {problems}") from exc
