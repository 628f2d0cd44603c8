"""The result of a check: per-area metrics, findings, and the JSON contract of ``check``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.crs import STORAGE_CRS
from gridplan.data.layers import FINDING_COLUMNS
from gridplan.geo.rules.registry import REGISTRY


@dataclass(frozen=True)
class CheckReport:
    """What a check found.

    Parameters
    ----------
    level
        ``community`` or ``grid``.
    measure
        What the size band counted (``households`` or ``residents``).
    band
        The size band ``(lo, hi)``, or ``None`` when the measure was unknown.
    areas
        One row per area: ``id``, ``name``, ``households``, ``residents``,
        ``road_boundary_share``, ``parts``, ``polsby_popper``.
    findings
        :data:`~gridplan.data.layers.FINDING_COLUMNS` plus ``geometry``, in the CRS of the
        areas as given; ``area_id`` is the id of the area (``None`` for a finding that
        belongs to no area, e.g. an unassigned compound).
    ignored_slivers
        Gaps, overlaps and detached parts narrower than the sliver width, by rule id (the
        rules that ignore slivers, in rule order).
    notes
        What could not be checked and why (e.g. no households known, no roads given).
    """

    level: str
    measure: str
    band: tuple[float, float] | None
    areas: pd.DataFrame
    findings: gpd.GeoDataFrame
    ignored_slivers: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def by_rule(self) -> dict[str, int]:
        """Number of findings per registered rule id, in rule order (rules with none left out)."""
        counts = self.findings["rule"].value_counts()
        return {r: int(counts[r]) for r in REGISTRY if r in counts.index}

    def to_json(self) -> dict[str, Any]:
        """The ``gridplan check --format json`` document.

        ``{"level", "summary": {"areas", "findings", "by_rule", "ignored_slivers"},
        "areas": [{"id", "name", "households", "residents", "road_boundary_share", "parts",
        "polsby_popper"}], "findings": [{"rule", "area", "severity", "value", "message",
        "geometry"}]}``, ``NaN`` as ``None``. Geometries are GeoJSON as RFC 7946 has it:
        longitude/latitude in WGS84 (EPSG:4326), polygon exteriors counter-clockwise and
        holes clockwise (§3.1.6), whatever the orientation of the areas as given.
        """
        wgs = self.findings.to_crs(STORAGE_CRS) if len(self.findings) else self.findings
        geoms = np.asarray(wgs.geometry.values, dtype=object)
        geojson = shapely.to_geojson(shapely.orient_polygons(geoms, exterior_cw=False))
        findings = [
            {
                "rule": rule,
                "area": area,
                "severity": severity,
                "value": _number(value),
                "message": message,
                "geometry": json.loads(g) if g is not None else None,
            }
            for rule, area, severity, value, message, g in zip(
                wgs["rule"],
                wgs["area_id"],
                wgs["severity"],
                wgs["value"],
                wgs["message"],
                geojson,
                strict=True,
            )
        ]
        a = self.areas
        areas = [
            {
                "id": area_id,
                "name": name,
                "households": _number(households),
                "residents": _number(residents),
                "road_boundary_share": _number(share),
                "parts": int(parts),
                "polsby_popper": _number(polsby_popper),
            }
            for area_id, name, households, residents, share, parts, polsby_popper in zip(
                a["id"],
                a["name"],
                a["households"],
                a["residents"],
                a["road_boundary_share"],
                a["parts"],
                a["polsby_popper"],
                strict=True,
            )
        ]
        return {
            "level": self.level,
            "summary": {
                "areas": len(self.areas),
                "findings": len(self.findings),
                "by_rule": self.by_rule(),
                "ignored_slivers": dict(self.ignored_slivers),
            },
            "areas": areas,
            "findings": findings,
        }

    def findings_for_store(self) -> gpd.GeoDataFrame:
        """The findings with exactly the stored columns (FINDING_COLUMNS + geometry)."""
        return gpd.GeoDataFrame(
            self.findings[list(FINDING_COLUMNS)].copy(),
            geometry=self.findings.geometry.values,
            crs=self.findings.crs,
        )


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) or np.isinf(number) else number
