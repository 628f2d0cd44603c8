"""Compare two plans on one map: who gained what, who lost what, and what went where.

:func:`gridplan.geo.diff.plan_diff` computes the comparison (the one used by ``gridplan plans
diff`` and the HTTP diff too); :func:`render_diff_map` draws it, with the same side panel and
ordered panes as the plan map (:mod:`gridplan.maps.canvas`):

* **Communities after**, each filled with its own colour (neighbours differ), outlined by
  change (unchanged thin grey, changed dark, new thick green) and labelled with its name and
  households before → after;
* **Communities removed** (in the before plan only), drawn on top as red dashed outlines and
  labelled ``✕ name (removed)``, so they are seen even where the after plan covers the ground;
* **Boundaries before**, dashed;
* **Territory moved**: each piece that changed community (the moved units when both plans
  are unit assignments), labelled ``from → to`` with the households it carries;
* **Compounds moved**: a marker per compound whose community changed, labelled from → to.

The panel lists every community before and after (households, change) and every move
(from → to, units, households, compounds), clicking a row zooms to it, and states the total
households moved. Legend counts are the counts of what is drawn.

Example
-------
::

    before = store.load_plan(3); after = store.load_plan(4)
    save_map(render_diff_map(before, after, compounds=store.read_layer("compounds")), "diff.html")
"""

from __future__ import annotations

from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.crs import to_storage
from gridplan.geo.diff import PlanDiff, plan_diff
from gridplan.maps.canvas import (
    MISSING,
    PANE_BOUNDS,
    PANE_FILL,
    PANE_FINDINGS,
    PANE_GRIDS,
    PANE_MARKS,
    MapCanvas,
    bounds_of,
    escape,
    format_count,
    geojson_layer,
    label_places,
    legend_line,
    legend_swatch,
    panel_bounds,
    text_column,
)
from gridplan.maps.inputs import MapLayers
from gridplan.maps.simplify import DISPLAY_DECIMALS, DISPLAY_TOLERANCE_M
from gridplan.maps.style import COMMUNITY_FILL_OPACITY, community_colours
from gridplan.maps.tiles import Tiles
from gridplan.plan import Level, Plan

#: Change status of an area, and its colour (outline; the fill of a removed community).
CHANGE_COLOURS: dict[str, str] = {
    "unchanged": "#969696",
    "changed": "#252525",
    "new": "#238b45",
    "removed": "#de2d26",
}
#: Outline weight and dash per change status.
_CHANGE_LINE: dict[str, tuple[float, str | None]] = {
    "unchanged": (1.2, None),
    "changed": (2.5, None),
    "new": (4.0, None),
    "removed": (3.0, "6 5"),
}
#: Badge per change status (labels and the panel).
CHANGE_BADGES: dict[str, str] = {"unchanged": "=", "changed": "±", "new": "+", "removed": "✕"}
_MOVE_COLOUR = "#6a3d9a"
_COMPOUND_COLOUR = "#08519c"


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
    table = table[~table.index.duplicated()]
    names = _Names({**_names(old), **_names(new)})
    names.recoded = _recoded(old, new)
    after_layer, after_shown = _add_after(canvas, new, table)
    _add_before(canvas, old)
    removed = old[old["area_id"].isin(table.index[table["change"] == "removed"])]
    removed_layer, removed_shown = (
        _add_removed(canvas, removed, table) if not removed.empty else (None, None)
    )
    moved = diff.moved[~shapely.is_empty(np.asarray(diff.moved.geometry.values, dtype=object))]
    moved_layer, moved_shown = _add_moved(canvas, moved, names) if not moved.empty else (None, None)
    moved_compounds = diff.compounds[
        ~shapely.is_missing(np.asarray(diff.compounds.geometry.values, dtype=object))
    ]
    compound_layer = (
        _add_moved_compounds(canvas, moved_compounds, names) if not moved_compounds.empty else None
    )
    # labels, in priority order: communities after, removed communities, moves (most
    # households first), compounds
    after_names = _name_list(new)
    after_rows = table.reindex(new["area_id"])
    after_text = [
        f"<b>{n}</b><br>{_hh(b)} → {_hh(a)}户 {_change_badge(c)}"
        for n, b, a, c in zip(
            after_names,
            after_rows["households_before"],
            after_rows["households_after"],
            after_rows["change"],
            strict=True,
        )
    ]
    _label_areas(canvas, after_layer, after_shown, after_text, "gp-community-label")
    # removed communities: labelled below their centre, so they rarely meet a label
    if removed_layer is not None and removed_shown is not None:
        _label_areas(
            canvas,
            removed_layer,
            removed_shown,
            [f"{CHANGE_BADGES['removed']} <b>{n}</b> (removed)" for n in _name_list(removed)],
            "gp-removed-label",
        )
    if moved_layer is not None and moved_shown is not None:
        move_text = [
            _pair(f, t, names) + ("" if np.isnan(float(h)) else f"<br>{format_count(float(h))}户")
            for f, t, h in zip(moved["from_id"], moved["to_id"], moved["households"], strict=True)
        ]
        _label_areas(
            canvas,
            moved_layer,
            moved_shown,
            move_text,
            "gp-move-label",
            fit=True,
            weight=np.nan_to_num(moved["households"].to_numpy(dtype=float), nan=0.0),
        )
    if compound_layer is not None:
        _label_compounds(canvas, compound_layer, moved_compounds, names)
    _add_panel(canvas, diff, old, new, table, names, moved, moved_shown, removed_shown)
    _add_legend(canvas, table, new, removed, moved, moved_compounds, diff)
    layers = [after_layer] + ([removed_layer] if removed_layer is not None else [])
    canvas.script(
        f"gridplan.panel({canvas.map.get_name()}, [{', '.join(x.get_name() for x in layers)}]);"
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


def _name_list(frame: gpd.GeoDataFrame) -> list[str]:
    return list(text_column(frame, "name", fallback=frame["area_id"].astype(str)))


def _hh(value: float) -> str:
    return MISSING if value is None or np.isnan(float(value)) else format_count(float(value))


def _change_badge(change: object) -> str:
    key = str(change) if str(change) in CHANGE_BADGES else "changed"
    return f'<span class="gp-badge gp-c-{key}" title="{key}">{CHANGE_BADGES[key]}</span>'


def _change_style(change: str, fill: str | None) -> dict[str, object]:
    weight, dash = _CHANGE_LINE[change]
    style: dict[str, object] = {
        "color": CHANGE_COLOURS[change],
        "weight": weight,
        "opacity": 1.0,
        "fillColor": fill if fill is not None else CHANGE_COLOURS[change],
        "fillOpacity": COMMUNITY_FILL_OPACITY if fill is not None else 0.0,
    }
    if dash is not None:
        style["dashArray"] = dash
    if fill is None:
        style["fill"] = False
    return style


def _label_areas(
    canvas: MapCanvas,
    layer: folium.GeoJson,
    shown: gpd.GeoDataFrame,
    texts: list[str],
    class_name: str,
    *,
    fit: bool = False,
    weight: np.ndarray | None = None,
) -> None:
    """Label areas, larger ones first (or those of greater ``weight``, then larger)."""
    places = label_places(shown)
    boxes = bounds_of(shown)
    areas = np.nan_to_num(shapely.area(np.asarray(shown.geometry.values, dtype=object)))
    order = np.lexsort((-areas, -weight)) if weight is not None else np.argsort(-areas)
    items = [
        (places[i][0][0], places[i][0][1], texts[i], boxes[i], places[i][1:])
        for i in order
        if places[i]
    ]
    canvas.labels(layer, items, class_name=class_name, min_zoom=0, fit=fit)


def _label_compounds(
    canvas: MapCanvas, layer: folium.GeoJson, moved: gpd.GeoDataFrame, names: dict[str, str]
) -> None:
    shown = canvas.display(_points(moved))
    texts = _compound_texts(moved, names)
    items = [
        (float(shapely.get_y(g)), float(shapely.get_x(g)), t, None)
        for g, t in zip(shown.geometry.values, texts, strict=True)
    ]
    canvas.labels(layer, items, class_name="gp-compound-label", zoom_offset=1)


def _compound_texts(moved: gpd.GeoDataFrame, names: dict[str, str]) -> list[str]:
    label = text_column(moved, "name", fallback=moved["compound_id"].astype(str))
    return [
        f"{n}: {_pair(f, t, names)}"
        for n, f, t in zip(label, moved["from_id"], moved["to_id"], strict=True)
    ]


class _Names(dict[str, str]):
    """Area names by id, and the areas whose community code changed (id -> old, new)."""

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__(names)
        self.recoded: dict[str, tuple[str, str]] = {}


def _recoded(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> dict[str, tuple[str, str]]:
    """Areas that kept their id but not their code (a merge gave them another's code)."""
    if "code" not in old.columns or "code" not in new.columns:
        return {}
    before = dict(zip(old["area_id"].astype(str), old["code"], strict=True))
    out: dict[str, tuple[str, str]] = {}
    for a, c in zip(new["area_id"].astype(str), new["code"], strict=True):
        b = before.get(a)
        if b is not None and c is not None and not pd.isna(b) and not pd.isna(c) and b != c:
            out[a] = (str(b), str(c))
    return out


def _pair(f: object, t: object, names: dict[str, str]) -> str:
    """``from → to``; for households that stayed in an area whose code changed (their
    community code is what moved), ``name: code A → B``."""
    recoded = getattr(names, "recoded", {})
    if f is not None and str(f) == str(t) and str(f) in recoded:
        a, b = recoded[str(f)]
        return f"{_side_name(f, names)}: code {escape(a)} → {escape(b)}"
    return f"{_side_name(f, names)} → {_side_name(t, names)}"


def _side_name(value: object, names: dict[str, str]) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return "no community"
    return names.get(str(value), escape(str(value)))


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
        }
    )


def _add_after(
    canvas: MapCanvas, new: gpd.GeoDataFrame, table: pd.DataFrame
) -> tuple[folium.GeoJson, gpd.GeoDataFrame]:
    shown = canvas.display(new, coverage=True)
    colours = community_colours(new)
    props = _change_props(new, table)
    fills = [colours.get(i, "#cccccc") for i in new["area_id"].astype(str)]
    props["_s"] = [f"{c}|{f}" for c, f in zip(props["change"], fills, strict=True)]
    styles = {k: _change_style(k.split("|")[0], k.split("|")[1]) for k in sorted(set(props["_s"]))}
    fields = ["name", "area_id", "change", "before", "after", "delta"]
    aliases = ["community", "id", "change", "households before", "households after", "change"]
    layer = geojson_layer(
        canvas,
        shown,
        props,
        name="Communities after (by change)",
        styles=styles,
        tooltip=(["name", "change", "before", "after"], aliases[:1] + aliases[2:5]),
        popup=(fields, aliases),
        highlight={"fillOpacity": 0.8},
        pane=PANE_FILL,
    )
    layer.add_to(canvas.map)
    changes = [str(c) for c in props["change"]]
    styles = {c: _change_style(c, None) for c in sorted(set(changes))}
    canvas.outline_above(layer, shown, changes, styles, "Community boundaries after")
    return layer, shown


def _add_before(canvas: MapCanvas, old: gpd.GeoDataFrame) -> None:
    shown = canvas.display(old, coverage=True)
    props = pd.DataFrame({"name": text_column(old, "name", fallback=old["area_id"])})
    geojson_layer(
        canvas,
        shown,
        props,
        name=f"Boundaries before ({len(old)})",
        styles={
            "": {
                "color": "#444444",
                "weight": 1.8,
                "dashArray": "6 4",
                "fill": False,
                "fillOpacity": 0.0,
            }
        },
        tooltip=None,
        popup=None,
        highlight=None,
        pane=PANE_GRIDS,
        interactive=False,
    ).add_to(canvas.map)


def _add_removed(
    canvas: MapCanvas, removed: gpd.GeoDataFrame, table: pd.DataFrame
) -> tuple[folium.GeoJson, gpd.GeoDataFrame]:
    shown = canvas.display(removed, coverage=True)
    style = {
        "color": CHANGE_COLOURS["removed"],
        "weight": 3.5,
        "opacity": 1.0,
        "dashArray": "7 5",
        "fill": False,
    }
    fields = ["name", "area_id", "change", "before", "after", "delta"]
    props = _change_props(removed, table).assign(_s="removed")
    layer = geojson_layer(
        canvas,
        shown,
        props,
        name=f"Communities removed ({len(removed)})",
        styles={"removed": style},
        tooltip=(["name", "change", "before"], ["community", "change", "households before"]),
        popup=(fields, fields),
        highlight={"weight": 5},
        pane=PANE_BOUNDS,
    )
    layer.add_to(canvas.map)
    return layer, shown


def _add_moved(
    canvas: MapCanvas, moved: gpd.GeoDataFrame, names: dict[str, str]
) -> tuple[folium.GeoJson, gpd.GeoDataFrame]:
    shown = canvas.display(moved)
    props = pd.DataFrame(
        {
            "from": [_side_name(v, names) for v in moved["from_id"]],
            "to": [_side_name(v, names) for v in moved["to_id"]],
            "area": [f"{v / 10_000:,.2f} ha" for v in moved["area_m2"]],
            "households": [_hh(float(v)) for v in moved["households"]],
        }
    )
    style = {
        "color": _MOVE_COLOUR,
        "weight": 1.5,
        "opacity": 0.9,
        "fillColor": _MOVE_COLOUR,
        "fillOpacity": 0.28,
    }
    layer = geojson_layer(
        canvas,
        shown,
        props,
        name=f"Territory moved ({len(moved)})",
        styles={"": style},
        tooltip=(["from", "to", "households"], ["from", "to", "households"]),
        popup=(["from", "to", "area", "households"], ["from", "to", "area", "households"]),
        highlight={"fillOpacity": 0.5},
        pane=PANE_FINDINGS,
    )
    layer.add_to(canvas.map)
    return layer, shown


def _points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    pts = shapely.point_on_surface(np.asarray(frame.geometry.values, dtype=object))
    return gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=pts, crs=frame.crs)


def _add_moved_compounds(
    canvas: MapCanvas, moved: gpd.GeoDataFrame, names: dict[str, str]
) -> folium.GeoJson:
    shown = canvas.display(_points(moved))
    props = pd.DataFrame(
        {
            "name": text_column(
                moved, "name", fallback=moved["compound_id"].astype(str)
            ).to_numpy(),
            "households": [_hh(float(v)) for v in moved["households"]],
            "from": [_side_name(v, names) for v in moved["from_id"]],
            "to": [_side_name(v, names) for v in moved["to_id"]],
        }
    )
    style = {
        "color": "#ffffff",
        "weight": 1.5,
        "fillColor": _COMPOUND_COLOUR,
        "fillOpacity": 1.0,
        "radius": 6,
    }
    layer = geojson_layer(
        canvas,
        shown,
        props,
        name=f"Compounds moved ({len(moved)})",
        styles={"": style},
        tooltip=(["name", "from", "to", "households"], ["compound", "from", "to", "households"]),
        popup=(["name", "households", "from", "to"], ["compound", "households", "from", "to"]),
        highlight={"radius": 9},
        pane=PANE_MARKS,
    )
    layer.add_to(canvas.map)
    return layer


def _add_panel(
    canvas: MapCanvas,
    diff: PlanDiff,
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    table: pd.DataFrame,
    names: dict[str, str],
    moved: gpd.GeoDataFrame,
    moved_shown: gpd.GeoDataFrame | None,
    removed_shown: gpd.GeoDataFrame | None,
) -> None:
    boxes = {
        **dict(zip(old["area_id"], bounds_of(canvas.display(old)), strict=True)),
        **dict(zip(new["area_id"], bounds_of(canvas.display(new)), strict=True)),
    }
    colours = community_colours(new)
    rows = []
    for area, row in table.iterrows():
        change = str(row["change"])
        dot = colours.get(str(area), "#ffffff")
        rows.append(
            f'<tr data-area="{escape(str(area))}" '
            f'data-bounds="{panel_bounds(boxes.get(str(area)))}">'
            f'<td><span class="gp-dot" style="background:{dot}"></span>'
            f"{names.get(str(area), escape(str(area)))}</td>"
            f'<td class="n">{_hh(row["households_before"])}</td>'
            f'<td class="n">{_hh(row["households_after"])}</td>'
            f"<td>{_change_badge(change)} {change}</td></tr>"
        )
    moves = _move_rows(diff, moved, moved_shown, names)
    total = format_count(diff.households_moved)
    units = f", {diff.units_moved:,} units" if diff.units_moved else ""
    summary = f"{len(old)} communities before, {len(new)} after; {total} households moved{units}"
    canvas.panel.append(
        '<div class="gp-sec" id="gridplan-summary">'
        f'<div class="gp-note"><b>{escape(summary)}</b></div></div>'
        '<div class="gp-sec" id="gridplan-communities"><b>Communities</b>'
        '<div class="gp-tbl"><table><thead><tr><th>community</th>'
        '<th class="n">before</th><th class="n">after</th><th>change</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></div>"
        '<div class="gp-sec" id="gridplan-moves"><b>Moves: from → to</b>'
        '<div class="gp-tbl"><table><thead><tr><th>from → to</th><th class="n">units</th>'
        '<th class="n">households</th><th class="n">compounds</th></tr></thead>'
        f"<tbody>{moves}</tbody></table></div>"
        f'<div class="gp-note">households moved in all: {total}</div></div>'
    )


@dataclass
class _Move:
    """One (from, to) pair of the moves table."""

    units: int | None = None
    households: float = float("nan")
    compounds: list[str] = field(default_factory=list)
    box: list[float] | None = None


def _move_rows(
    diff: PlanDiff,
    moved: gpd.GeoDataFrame,
    moved_shown: gpd.GeoDataFrame | None,
    names: dict[str, str],
) -> str:
    """One panel row per (from, to) pair: its units, households and the compounds that went."""
    pairs: dict[tuple[str, str], _Move] = {}

    def entry(f: object, t: object) -> _Move:
        key = (_key(f), _key(t))
        return pairs.setdefault(key, _Move())

    boxes = bounds_of(moved_shown) if moved_shown is not None else [None] * len(moved)
    for f, t, h, box in zip(
        moved["from_id"], moved["to_id"], moved["households"], boxes, strict=True
    ):
        e = entry(f, t)
        e.households = float(h)
        e.box = box
    for r in diff.unit_moves.to_dict(orient="records"):
        e = entry(r["from_id"], r["to_id"])
        e.units = int(r["units"])
        if not np.isnan(float(r["households"])):
            e.households = float(r["households"])
    label = text_column(diff.compounds, "name", fallback=diff.compounds["compound_id"].astype(str))
    for n, f, t in zip(label, diff.compounds["from_id"], diff.compounds["to_id"], strict=True):
        entry(f, t).compounds.append(n)
    rows = []
    for (f, t), e in pairs.items():
        units = MISSING if e.units is None else f"{e.units:,}"
        rows.append(
            f'<tr data-bounds="{panel_bounds(e.box)}">'
            f"<td>{_pair(f, t, names)}</td>"
            f'<td class="n">{units}</td><td class="n">{_hh(e.households)}</td>'
            f'<td class="n" title="{", ".join(e.compounds)}">{len(e.compounds)}</td></tr>'
        )
    return "".join(rows) or f'<tr><td colspan="4">{MISSING} nothing moved</td></tr>'


def _key(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _add_legend(
    canvas: MapCanvas,
    table: pd.DataFrame,
    new: gpd.GeoDataFrame,
    removed: gpd.GeoDataFrame,
    moved: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    diff: PlanDiff,
) -> None:
    after = table.reindex(new["area_id"])["change"].value_counts()
    rows = "".join(
        legend_line(
            CHANGE_COLOURS[c],
            _CHANGE_LINE[c][0],
            _CHANGE_LINE[c][1],
            f"{CHANGE_BADGES[c]} {c} ({int(after.get(c, 0))})",
        )
        for c in ("unchanged", "changed", "new")
    )
    canvas.legend.append(
        '<div class="gp-sec" data-layer="changes"><b>Communities after the change</b>'
        '<div class="gp-note">fill: each community its own colour; outline: its change</div>'
        f"{rows}"
        f"{legend_line(CHANGE_COLOURS['removed'], 3, '6 4', f'✕ removed ({len(removed)})')}"
        f"{legend_line('#444444', 2, '6 4', 'boundary before')}</div>"
        '<div class="gp-sec" data-layer="moves"><b>Moved</b>'
        f"{legend_swatch(_MOVE_COLOUR, f'territory, labelled from → to: {len(moved)} piece(s)')}"
        f"{legend_swatch(_COMPOUND_COLOUR, f'compounds: {len(compounds)}')}"
        f"<div>households moved: {format_count(diff.households_moved)}</div></div>"
    )
