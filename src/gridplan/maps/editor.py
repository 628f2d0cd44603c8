"""The browser editor of a plan: its page, its assets and the data it draws.

The page (``static/editor/editor.html``, ``editor.js``, ``editor.css``) draws every unit of a
plan filled with its community's colour (Leaflet on a canvas, vendored: no request leaves the
server), lets a planner select units (click, shift-click, shift-drag or the box tool) and move
them to a neighbouring or a new community, keeps undo/redo, and after every change posts the
whole list of moves to ``POST /plans/{id}/edits`` for the live check; it saves with the token
the planner types. :func:`editor_data` is what it draws.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import shapely

from gridplan.data.crs import STORAGE_CRS
from gridplan.geo.edit import EditBase
from gridplan.geo.rules import CheckConfig
from gridplan.maps.style import COMMUNITY_PALETTE, community_colours
from gridplan.plan import Level

#: Asset path -> (file under ``maps/static``, media type).
ASSETS: dict[str, tuple[str, str]] = {
    "editor.js": ("editor/editor.js", "text/javascript; charset=utf-8"),
    "editor.css": ("editor/editor.css", "text/css; charset=utf-8"),
    "leaflet/leaflet.js": ("leaflet/leaflet.js", "text/javascript; charset=utf-8"),
    "leaflet/leaflet.css": ("leaflet/leaflet.css", "text/css; charset=utf-8"),
    **{
        f"leaflet/images/{name}": (f"leaflet/images/{name}", "image/png")
        for name in (
            "layers.png",
            "layers-2x.png",
            "marker-icon.png",
            "marker-icon-2x.png",
            "marker-shadow.png",
        )
    },
}

#: Decimal degrees kept in the unit geometries sent to the page (1e-6° ≈ 0.1 m).
PRECISION = 1e-6


@cache
def asset_bytes(name: str) -> tuple[bytes, str]:
    """The bytes and media type of an editor asset (a key of :data:`ASSETS`).

    Raises
    ------
    KeyError
        If ``name`` is not an asset.
    """
    path, media = ASSETS[name]
    return (resources.files("gridplan.maps") / "static" / path).read_bytes(), media


def editor_page(plan_id: int, title: str, *, root: str = "") -> str:
    """The editor page of plan ``plan_id`` (its data and assets are fetched from ``root``).

    Examples
    --------
    >>> page = editor_page(2, "青阳街道 <plan>")
    >>> "青阳街道 &lt;plan&gt;" in page and 'data-plan="2"' in page
    True
    """
    template = asset_bytes("editor.html")[0].decode("utf-8")
    return (
        template.replace("{{ROOT}}", html.escape(root, quote=True))
        .replace("{{PLAN_ID}}", str(int(plan_id)))
        .replace("{{TITLE}}", html.escape(title))
    )


ASSETS["editor.html"] = ("editor/editor.html", "text/html; charset=utf-8")


def editor_data(base: EditBase) -> dict[str, Any]:
    """What the editor draws: the plan, its units (geometry, community, grid, households, a
    point inside each, neighbours) and its communities (code, name, colour, households, band
    status).

    ``units.geometry`` is one GeoJSON geometry per unit (EPSG:4326, 1e-6°), ``neighbours``
    the indices of the units within a metre of each; community colours come from
    :func:`gridplan.maps.style.community_colours` (touching communities differ), and
    ``palette`` gives the page colours for new communities.
    """
    state = base.levels["community"]
    ids = list(state.ids)
    polygons = gpd.GeoDataFrame(
        {"area_id": ids}, geometry=[state.geoms[a] for a in ids], crs=state.crs
    )
    colours = community_colours(polygons) if len(ids) else {}
    rows = state.rows
    measure = state.measure
    band = state.band
    communities = []
    for a in ids:
        value = float(rows.at[a, measure]) if a in rows.index else np.nan  # type: ignore[arg-type]
        communities.append(
            {
                "id": a,
                "code": base.codes.get(a),
                "name": base.names.get(a, a),
                "colour": colours.get(a, COMMUNITY_PALETTE[0]),
                "households": _num(rows.at[a, "households"]) if a in rows.index else None,
                "in_band": None
                if band is None or not np.isfinite(value)
                else bool(band[0] <= value <= band[1]),
            }
        )
    geoms = shapely.set_precision(
        np.asarray(base.units.to_crs(STORAGE_CRS).geometry.values, dtype=object),
        PRECISION,
        mode="pointwise",
    )
    points = shapely.get_coordinates(shapely.point_on_surface(geoms)).round(6)
    left, right = base.tree.query(base.metric, predicate="dwithin", distance=1.0)
    keep = left != right
    neighbours: list[list[int]] = [[] for _ in range(len(base.unit_ids))]
    for i, j in zip(left[keep].tolist(), right[keep].tolist(), strict=True):
        neighbours[i].append(j)
    bounds = base.units.to_crs(STORAGE_CRS).total_bounds
    grid_band = None
    if "grid" in base.levels:
        grid_band = CheckConfig.from_targets(base.plan.targets, Level.GRID).band(Level.GRID)
    plan = base.plan
    return {
        "plan": {
            "id": plan.plan_id,
            "name": plan.name,
            "parent_id": plan.parent_id,
            "measure": measure,
            "band": list(band) if band is not None else None,
            "grid_band": list(grid_band) if grid_band is not None else None,
            "bounds": [float(b) for b in bounds],
        },
        "palette": list(COMMUNITY_PALETTE),
        "communities": communities,
        "units": {
            "id": [str(u) for u in base.unit_ids],
            "community": [None if c is None else str(c) for c in base.community],
            "grid": [None if g is None else str(g) for g in base.grid],
            "households": [_num(h) for h in base.households],
            "neighbours": neighbours,
            "point": points.tolist(),
            "geometry": [orjson.Fragment(g) for g in shapely.to_geojson(geoms)],
        },
    }


def _num(value: Any) -> float | None:
    number = float(value)
    return round(number, 2) if np.isfinite(number) else None


__all__ = ["ASSETS", "PRECISION", "asset_bytes", "editor_data", "editor_page"]
