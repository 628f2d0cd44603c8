"""Compare two plans on one map: areas that changed, territory and compounds that moved.

:func:`plan_diff` computes the comparison (pure geometry and tables);
:func:`render_diff_map` draws it:

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

from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.crs import metric_crs, to_storage
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
from gridplan.maps.render import compound_communities
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


@dataclass(frozen=True)
class PlanDiff:
    """What changed between two plans at one level.

    Attributes
    ----------
    areas
        One row per area id in either plan: ``area_id``, ``name``, ``change``
        (``unchanged`` | ``changed`` | ``new`` | ``removed``), ``households_before``,
        ``households_after``, ``delta``, ``area_changed_m2`` (symmetric difference).
    moved
        Territory that changed community: ``from_id``, ``to_id``, ``area_m2``, ``households``
        (NaN unless computed from units) and geometry (EPSG:4326).
    compounds
        Compounds whose community changed: ``compound_id``, ``name``, ``households``,
        ``from_id``, ``to_id`` and geometry (EPSG:4326).
    """

    areas: pd.DataFrame
    moved: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame

    @property
    def households_moved(self) -> float:
        """Households in moved territory (or, without unit counts, in moved compounds)."""
        if not self.moved.empty and self.moved["households"].notna().any():
            return float(self.moved["households"].sum())
        return float(self.compounds["households"].sum()) if not self.compounds.empty else 0.0


def plan_diff(
    before: Plan | MapLayers,
    after: Plan | MapLayers,
    *,
    compounds: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    min_area_m2: float = 1.0,
) -> PlanDiff:
    """Compare the communities of two plans.

    Parameters
    ----------
    before, after
        The plans (or map layers) to compare. Areas are matched by ``area_id``.
    compounds
        Compounds to follow (their community in each plan is the one holding their
        representative point).
    units
        Units with ``unit_id`` and ``households``: when both plans are :class:`Plan` objects
        with unit assignments, moved territory is the moved units, with exact households.
    min_area_m2
        Geometry changes smaller than this (in square metres) are digitising noise.

    Examples
    --------
    Two communities A | B; in the after plan the right half of A moves to B::

        before  +---+---+---+---+      after  +---+---+---+---+
                | A   A | B   B |             | A | B   B   B |
                +---+---+---+---+             +---+---+---+---+

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> def areas(cut, hh):
    ...     return gpd.GeoDataFrame({"area_id": ["A", "B"], "households": hh},
    ...         geometry=[box(0, 0, cut, 1000), box(cut, 0, 4000, 1000)], crs=32650)
    >>> d = plan_diff(MapLayers(areas(2000, [2000.0, 2000.0])),
    ...               MapLayers(areas(1000, [1000.0, 3000.0])))
    >>> d.areas.set_index("area_id")["change"].to_dict()
    {'A': 'changed', 'B': 'changed'}
    >>> d.moved[["from_id", "to_id"]].values.tolist(), round(float(d.moved.area_m2.sum()))
    ([['A', 'B']], 1000000)
    """
    old = _communities(before)
    new = _communities(after)
    crs = metric_crs(_raw_communities(after), "after communities")
    old_m = old.to_crs(crs)
    new_m = new.to_crs(crs)
    areas = _area_changes(old_m, new_m, min_area_m2)
    moved = _unit_moves(before, after, units)
    if moved is None:
        moved = _territory_moves(old_m, new_m, min_area_m2)
    moved_compounds = _compound_moves(compounds, old, new)
    return PlanDiff(areas=areas, moved=moved, compounds=moved_compounds)


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
        As in :func:`plan_diff`.
    tiles, tolerance_m, decimals
        As in :func:`~gridplan.maps.render.render_plan_map`.
    title
        Map title; default names both plans.
    diff
        The comparison, if already computed with :func:`plan_diff` (else it is computed).
    """
    if diff is None:
        diff = plan_diff(before, after, compounds=compounds, units=units, min_area_m2=min_area_m2)
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


def _area_changes(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, min_area: float) -> pd.DataFrame:
    ids = list(dict.fromkeys([*old["area_id"], *new["area_id"]]))
    o = old.drop_duplicates("area_id").set_index("area_id")
    n = new.drop_duplicates("area_id").set_index("area_id")
    rows = []
    for area in ids:
        in_old, in_new = area in o.index, area in n.index
        hb = _households(o, area) if in_old else np.nan
        ha = _households(n, area) if in_new else np.nan
        if in_old and in_new:
            moved_area = float(
                shapely.symmetric_difference(o.geometry[area], n.geometry[area]).area
            )
            same_hh = (np.isnan(hb) and np.isnan(ha)) or bool(np.isclose(hb, ha))
            change = "unchanged" if moved_area < min_area and same_hh else "changed"
        else:
            moved_area = float((o if in_old else n).geometry[area].area)
            change = "removed" if in_old else "new"
        source = n if in_new else o
        name = source["name"][area] if "name" in source.columns else None
        rows.append(
            {
                "area_id": area,
                "name": None if name is None or pd.isna(name) else str(name),
                "change": change,
                "households_before": hb,
                "households_after": ha,
                "delta": (0.0 if np.isnan(hb) else -hb) + (0.0 if np.isnan(ha) else ha),
                "area_changed_m2": moved_area,
            }
        )
    return pd.DataFrame(rows)


def _households(frame: pd.DataFrame, area: str) -> float:
    if "households" not in frame.columns:
        return float("nan")
    value = pd.to_numeric(pd.Series([frame["households"][area]]), errors="coerce").iloc[0]
    return float(value)


def _territory_moves(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, min_area: float
) -> gpd.GeoDataFrame:
    left = old[["area_id", "geometry"]].rename(columns={"area_id": "from_id"})
    right = new[["area_id", "geometry"]].rename(columns={"area_id": "to_id"})
    pieces = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    pieces = pieces[pieces["from_id"] != pieces["to_id"]]
    pieces = pieces.dissolve(["from_id", "to_id"], as_index=False) if not pieces.empty else pieces
    pieces = pieces.assign(area_m2=pieces.geometry.area)
    pieces = pieces[pieces["area_m2"] >= min_area]
    pieces = pieces.assign(households=np.nan)
    cols = ["from_id", "to_id", "area_m2", "households", "geometry"]
    return to_storage(gpd.GeoDataFrame(pieces[cols], geometry="geometry", crs=new.crs))


def _unit_moves(
    before: Plan | MapLayers, after: Plan | MapLayers, units: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame | None:
    if units is None or not (isinstance(before, Plan) and isinstance(after, Plan)):
        return None
    if before.assignments.empty or after.assignments.empty:
        return None
    a = before.assignments[["unit_id", "community_id"]].rename(columns={"community_id": "from_id"})
    b = after.assignments[["unit_id", "community_id"]].rename(columns={"community_id": "to_id"})
    both = a.merge(b, on="unit_id", how="inner")
    both = both[both["from_id"].astype(str) != both["to_id"].astype(str)]
    u = to_storage(units, "units")[["unit_id", "households", "geometry"]].copy()
    u["unit_id"] = u["unit_id"].astype(str)
    both = both.assign(unit_id=both["unit_id"].astype(str))
    moved = u.merge(both, on="unit_id", how="inner")
    cols = ["from_id", "to_id", "area_m2", "households", "geometry"]
    if moved.empty:
        return gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=[], crs=u.crs)
    moved["from_id"] = moved["from_id"].astype(str)
    moved["to_id"] = moved["to_id"].astype(str)
    pieces = gpd.GeoDataFrame(moved, geometry="geometry", crs=u.crs).dissolve(
        ["from_id", "to_id"], as_index=False, aggfunc={"households": "sum"}
    )
    pieces["area_m2"] = pieces.to_crs(metric_crs(pieces)).geometry.area
    return pieces[cols]


def _compound_moves(
    compounds: gpd.GeoDataFrame | None, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    cols = ["compound_id", "name", "households", "from_id", "to_id"]
    if compounds is None or compounds.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs="EPSG:4326")
    comp = to_storage(compounds, "compounds")
    spatial = comp.drop(columns=["community_id"], errors="ignore")
    was = compound_communities(spatial, old)
    now = compound_communities(spatial, new)
    frame = gpd.GeoDataFrame(
        {
            "compound_id": comp["compound_id"].astype(str).to_numpy(),
            "name": comp["name"].to_numpy() if "name" in comp.columns else None,
            "households": pd.to_numeric(comp.get("households"), errors="coerce")
            if "households" in comp.columns
            else np.nan,
            "from_id": was,
            "to_id": now,
        },
        geometry=comp.geometry.to_numpy(),
        crs=comp.crs,
    )
    return frame[frame["from_id"] != frame["to_id"]].reset_index(drop=True)


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
