"""The plan: an immutable assignment unit → community → grid, with targets and metrics.

A plan is never edited: a scenario, a partition or an import produces a new plan whose
``parent_id`` names the plan it came from. Community and grid polygons (``areas``) are
derived by dissolving units, or are the polygons a user imported (a drawn plan).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import geopandas as gpd
import pandas as pd

#: Columns of :attr:`Plan.assignments`.
ASSIGNMENT_COLUMNS: tuple[str, ...] = ("unit_id", "community_id", "grid_id")
#: Attribute columns of :attr:`Plan.areas` (plus ``geometry``).
AREA_COLUMNS: tuple[str, ...] = (
    "level",
    "area_id",
    "name",
    "code",
    "parent_id",
    "households",
    "residents",
)


class Level(StrEnum):
    """The levels of a plan: communities and their grids, and optionally the subdistricts
    (街道) the communities belong to (a community's ``parent_id``)."""

    COMMUNITY = "community"
    GRID = "grid"
    SUBDISTRICT = "subdistrict"


@dataclass(frozen=True)
class PlanInfo:
    """A stored plan's header, without its rows."""

    plan_id: int
    name: str
    parent_id: int | None
    created_at: datetime
    source: str
    targets: Mapping[str, Any]
    metrics: Mapping[str, Any]


@dataclass(frozen=True)
class Plan:
    """A boundary plan.

    Parameters
    ----------
    name
        Human-readable name.
    assignments
        One row per unit: ``unit_id``, ``community_id``, ``grid_id`` (``None`` when the plan
        has no grids, or no units at all for a purely drawn plan).
    areas
        Community and grid polygons: ``level`` (``community`` | ``grid`` | ``subdistrict``),
        ``area_id``, ``name``, ``code``, ``parent_id`` (a grid's community; a community's
        subdistrict, when the plan has subdistricts), ``households``, ``residents``.
    targets
        Bands per level, e.g. ``{"community": {"households": [1000, 3000]}}``.
    metrics
        Summary metrics (free-form JSON-serialisable mapping).
    parent_id
        The plan this one was derived from.
    source
        Where it came from (``import:communities.gpkg``, ``partition``, ``scenario:x.yaml``).
    plan_id, created_at
        Set by the store when the plan is saved.
    """

    name: str
    assignments: pd.DataFrame
    areas: gpd.GeoDataFrame
    targets: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    parent_id: int | None = None
    source: str = ""
    plan_id: int | None = None
    created_at: datetime | None = None

    def with_id(self, plan_id: int, created_at: datetime) -> Plan:
        """Return a copy carrying the id and time the store gave it."""
        return replace(self, plan_id=plan_id, created_at=created_at)

    def areas_at(self, level: Level | str) -> gpd.GeoDataFrame:
        """Return the areas of one level."""
        return self.areas[self.areas["level"] == Level(level).value].reset_index(drop=True)

    @property
    def info(self) -> PlanInfo:
        """The plan's header (only for a stored plan)."""
        if self.plan_id is None or self.created_at is None:
            raise ValueError("the plan has not been stored")
        return PlanInfo(
            self.plan_id,
            self.name,
            self.parent_id,
            self.created_at,
            self.source,
            self.targets,
            self.metrics,
        )


def empty_assignments() -> pd.DataFrame:
    """Return an empty assignments table."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in ASSIGNMENT_COLUMNS})
