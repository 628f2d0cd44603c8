"""Compare two plans on one map: areas that changed, territory and compounds that moved.

:func:`gridplan.geo.diff.plan_diff` computes the comparison (the one used by ``gridplan plans
diff`` and the HTTP diff too); :func:`render_diff_map` draws it:

* **After** communities filled by change (unchanged / changed / new), with households before
  and after in popups; **removed** communities (in the before plan only) hatched red;
* **Before** boundaries as dashed outlines;
* **Territory moved**: each piece that changed community, labelled from → to (with the
  households it carries when both plans are unit assignments and units are given);
* **Compounds moved**: compounds whose community changed, with a line from the old
  community to the new one.

Example
-------
::

    before = store.load_plan(3); after = store.load_plan(4)
    save_map(render_diff_map(before, after, compounds=store.read_layer("compounds")), "diff.html")
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.crs import to_storage
from gridplan.geo.diff import PlanDiff, plan_diff
from gridplan.maps.canvas import (
    MapCanvas,
    escape,
    format_number,
    geojson_layer,
    legend_line,
    legend_swatch,
    text_column,
)
from gridplan.maps.inputs import MapLayers
from gridplan.maps.simplify import DISPLAY_DECIMALS, DISPLAY_TOLERANCE_M
from gridplan.maps.tiles import Tiles
from gridplan.plan import Level, Plan

#: Change status of an area, and its fill colour.
CHANGE_COLOURS: dict[str, str] = {
    "unchanged": "#d9d9d9",
    "changed": "#fd8d3c",
    "new": "#31a354",
    "removed": "#de2d26",
}


def render_diff_map(
    before: Plan | MapLayers,
    after: Plan | MapLayers,
    *,
    compounds: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    tiles: Tiles | str = Tiles.NONE,
    tolerance_m: float = DISPLAY_TOLERANCE_M,
    decimals: int = DISPLAY_DECIMALS,
    min_area_m2: float = 1.0,
    title: str | None = None,
    diff: PlanDiff | None = None,
) -> folium.Map:
    """Draw the difference between two plans (see the module docstring for the layers).

    Parameters
    ----------
    before, after, compounds, units, min_area_m2
        As in :func:`gridplan.geo.diff.plan_diff` (map layers stand for their communities).
    tiles, tolerance_m, decimals
        As in :func:`~gridplan.maps.render.render_plan_map`.
    title
        Map title; default names both plans.
    diff
        The comparison, if already computed with :func:`~gridplan.geo.diff.plan_diff` (else it
        is computed).
    """
    if diff is None:
        diff = plan_diff(
            _side(before), _side(after), compounds=compounds, units=units, min_area_m2=min_area_m2
        )
    old = _communities(before)
    new = _communities(after)
    canvas = MapCanvas(
        pd.concat([to_storage(old), to_storage(new)], ignore_index=True),
        tiles=tiles,
        tolerance_m=tolerance_m,
        decimals=decimals,
    )
    canvas.add_title(title if title is not None else f"{_name(before)} → {_name(after)}")
    table = diff.areas.set_index("area_id")
    _add_before(canvas, old)
    _add_after(canvas, new, table)
    removed = old[old["area_id"].astype(str).isin(table.index[table["change"] == "removed"])]
    if not removed.empty:
        _add_removed(canvas, removed, table)
    if not diff.moved.empty:
        _add_moved(canvas, diff.moved, old, new)
    if not diff.compounds.empty:
        _add_moved_compounds(canvas, diff.compounds, old, new)
    counts = diff.areas["change"].value_counts()
    rows = "".join(
        legend_swatch(CHANGE_COLOURS[c], f"{c} ({int(counts.get(c, 0))})") for c in CHANGE_COLOURS
    )
    canvas.legend.append(
        f'<div class="gp-sec" data-layer="changes"><b>Communities after the change</b>{rows}'
        f"{legend_line('#444444', 2, '6 4', 'boundary before')}</div>"
        f'<div class="gp-sec" data-layer="moves"><b>Moved</b>'
        f"{legend_swatch('#7a0177', f'territory: {len(diff.moved)} piece(s)')}"
        f"{legend_swatch('#08519c', f'compounds: {len(diff.compounds)}')}"
        f"<div>households moved: {format_number(diff.households_moved)}</div></div>"
    )
    return canvas.finish()


# --- computation ------------------------------------------------------------------------


def _side(side: Plan | MapLayers) -> Plan | gpd.GeoDataFrame:
    return side if isinstance(side, Plan) else side.communities


def _raw_communities(side: Plan | MapLayers) -> gpd.GeoDataFrame:
    return side.areas_at(Level.COMMUNITY) if isinstance(side, Plan) else side.communities


def _communities(side: Plan | MapLayers) -> gpd.GeoDataFrame:
    out = to_storage(_raw_communities(side), "communities").copy()
    out["area_id"] = out["area_id"].astype(str)
    return out


def _name(side: Plan | MapLayers) -> str:
    if isinstance(side, Plan):
        return side.name + (f" (plan {side.plan_id})" if side.plan_id is not None else "")
    return side.title or "plan"


# --- drawing ----------------------------------------------------------------------------


def _names(frame: gpd.GeoDataFrame) -> dict[str, str]:
    ids = frame["area_id"].astype(str)
    return dict(zip(ids, text_column(frame, "name", fallback=ids), strict=True))


def _hh(value: float) -> str:
    return "–" if np.isnan(value) else format_number(value)


def _add_before(canvas: MapCanvas, old: gpd.GeoDataFrame) -> None:
    shown = canvas.display(old, coverage=True)
    props = pd.DataFrame({"name": text_column(old, "name", fallback=old["area_id"])})
    geojson_layer(
        canvas,
        shown,
        props,
        name="Boundaries before",
        styles={"": {"color": "#444444", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.0}},
        tooltip=None,
        popup=None,
        highlight=None,
    ).add_to(canvas.map)


def _change_props(frame: gpd.GeoDataFrame, table: pd.DataFrame) -> pd.DataFrame:
    ids = frame["area_id"].astype(str)
    rows = table.reindex(ids)
    return pd.DataFrame(
        {
            "name": text_column(frame, "name", fallback=ids).to_numpy(),
            "area_id": [escape(i) for i in ids],
            "change": rows["change"].to_numpy(),
            "before": [_hh(v) for v in rows["households_before"]],
            "after": [_hh(v) for v in rows["households_after"]],
            "delta": [f"{v:+,.0f}" for v in rows["delta"]],
            "_s": rows["change"].to_numpy(),
        }
    )


def _add_after(canvas: MapCanvas, new: gpd.GeoDataFrame, table: pd.DataFrame) -> None:
    shown = canvas.display(new, coverage=True)
    styles = {
        c: {"color": "#222222", "weight": 1.5, "fillColor": col, "fillOpacity": 0.45}
        for c, col in CHANGE_COLOURS.items()
    }
    fields = ["name", "area_id", "change", "before", "after", "delta"]
    aliases = ["community", "id", "change", "households before", "households after", "change"]
    geojson_layer(
        canvas,
        shown,
        _change_props(new, table),
        name="Communities after (by change)",
        styles=styles,
        tooltip=(["name", "change", "before", "after"], aliases[:1] + aliases[2:5]),
        popup=(fields, aliases),
        highlight={"weight": 3},
    ).add_to(canvas.map)


def _add_removed(canvas: MapCanvas, removed: gpd.GeoDataFrame, table: pd.DataFrame) -> None:
    shown = canvas.display(removed, coverage=True)
    style = {
        "color": CHANGE_COLOURS["removed"],
        "weight": 3,
        "fillColor": CHANGE_COLOURS["removed"],
        "fillOpacity": 0.25,
        "dashArray": "3 5",
    }
    fields = ["name", "area_id", "change", "before", "after", "delta"]
    geojson_layer(
        canvas,
        shown,
        _change_props(removed, table),
        name=f"Communities removed ({len(removed)})",
        styles={"removed": style},
        tooltip=(["name", "change", "before"], ["community", "change", "households before"]),
        popup=(fields, fields),
        highlight=None,
    ).add_to(canvas.map)


def _add_moved(
    canvas: MapCanvas, moved: gpd.GeoDataFrame, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame
) -> None:
    names = {**_names(old), **_names(new)}
    shown = canvas.display(moved)
    props = pd.DataFrame(
        {
            "from": [names.get(str(v), escape(str(v))) for v in moved["from_id"]],
            "to": [names.get(str(v), escape(str(v))) for v in moved["to_id"]],
            "area": [f"{v / 10_000:,.2f} ha" for v in moved["area_m2"]],
            "households": [_hh(float(v)) for v in moved["households"]],
        }
    )
    style = {"color": "#7a0177", "weight": 2, "fillColor": "#c51b8a", "fillOpacity": 0.55}
    geojson_layer(
        canvas,
        shown,
        props,
        name=f"Territory moved ({len(moved)})",
        styles={"": style},
        tooltip=(["from", "to", "households"], ["from", "to", "households"]),
        popup=(["from", "to", "area", "households"], ["from", "to", "area", "households"]),
        highlight={"weight": 4},
    ).add_to(canvas.map)


def _add_moved_compounds(
    canvas: MapCanvas, moved: gpd.GeoDataFrame, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame
) -> None:
    names = {**_names(old), **_names(new)}
    shown = canvas.display(moved)
    label = {None: "no community"}
    props = pd.DataFrame(
        {
            "name": text_column(
                moved, "name", fallback=moved["compound_id"].astype(str)
            ).to_numpy(),
            "households": [_hh(float(v)) for v in moved["households"]],
            "from": [label.get(v) or names.get(str(v), escape(str(v))) for v in moved["from_id"]],
            "to": [label.get(v) or names.get(str(v), escape(str(v))) for v in moved["to_id"]],
        }
    )
    style = {"color": "#08519c", "weight": 3, "fillColor": "#6baed6", "fillOpacity": 0.8}
    layer = geojson_layer(
        canvas,
        shown,
        props,
        name=f"Compounds moved ({len(moved)})",
        styles={"": {**style, "radius": 7}},
        tooltip=(["name", "from", "to", "households"], ["compound", "from", "to", "households"]),
        popup=(["name", "households", "from", "to"], ["compound", "households", "from", "to"]),
        highlight={"weight": 5},
    )
    group = folium.FeatureGroup(name=f"Compound moves, old → new community ({len(moved)})")
    old_pts = _anchors(old)
    new_pts = _anchors(new)
    for f, t, n in zip(moved["from_id"], moved["to_id"], props["name"], strict=True):
        if f is None or t is None or f not in old_pts or t not in new_pts:
            continue
        a = canvas.point(*old_pts[f])
        b = canvas.point(*new_pts[t])
        folium.PolyLine([a, b], color="#08519c", weight=2, dash_array="2 6", tooltip=n).add_to(
            group
        )
    layer.add_to(canvas.map)
    group.add_to(canvas.map)


def _anchors(frame: gpd.GeoDataFrame) -> dict[str, tuple[float, float]]:
    pts = shapely.point_on_surface(np.asarray(frame.geometry.values, dtype=object))
    return {
        str(i): (float(shapely.get_x(p)), float(shapely.get_y(p)))
        for i, p in zip(frame["area_id"], pts, strict=True)
    }
