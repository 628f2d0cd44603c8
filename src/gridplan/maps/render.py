"""Render a plan as one self-contained Folium (Leaflet) HTML map a planner reads at a glance.

The page is a side panel beside the map. The panel holds the title, a table of the
communities (households, residents, grids, band status, findings; clicking a row zooms to the
community), the legend and the layer control. The map draws, bottom to top:

* **Communities**, each filled with its own colour (touching communities always differ:
  DSATUR colouring of the adjacency graph, :func:`gridplan.maps.style.community_colours`),
  outlined by band status (thin dark in the band, dashed blue under it, thick red over it)
  and labelled permanently at the opening view with name, households and a status badge
  (``青新社区 / 2,410户 ✓``);
* **Compounds**, a deeper shade of the community that holds them;
* **Roads**, muted, by class;
* **Findings**, one layer per rule id, each styled distinctly but thin (lines as a translucent
  glow) and drawn *under* the boundaries, so they never hide one;
* **Grids**, dashed outlines, labelled with their codes from one zoom closer than the opening
  view (only where a code fits inside its grid);
* the community boundaries again, on top;
* **Facilities**; their 10- and 15-minute walking circles are off until switched on;
* **Units** (off until switched on).

Labels never pile up: a small script (``maps/static/gridplan-map.js``) hides any label that
would overlap one of higher priority (communities first) and shows it again when zooming in.
Popups give name, code, households, residents, band status, road share and the area's
findings. Geometry is simplified for display (:mod:`gridplan.maps.simplify`); styles are
grouped so each feature carries only its id in the style table, which keeps a city of 10,000
units well under 15 MB.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> communities = gpd.GeoDataFrame(
...     {"area_id": ["1"], "name": ["青新社区"], "households": [1200.0]},
...     geometry=[box(118.58, 24.80, 118.59, 24.81)], crs=4326)
>>> html = map_html(render_plan_map(MapLayers(communities)))
>>> "青新社区" in html or "\\\\u9752\\\\u65b0" in html
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.crs import to_storage
from gridplan.errors import InputError
from gridplan.geo.diff import areas_holding
from gridplan.maps.canvas import (
    MISSING,
    PANE_FILL,
    PANE_FINDINGS,
    PANE_GRIDS,
    PANE_MARKS,
    PANE_ROADS,
    MapCanvas,
    bounds_of,
    escape,
    format_count,
    format_number,
    geojson_layer,
    label_places,
    label_points,
    legend_line,
    legend_swatch,
    panel_bounds,
    shade,
    text_column,
)
from gridplan.maps.inputs import MapLayers
from gridplan.maps.reach import add_reach, has_reach
from gridplan.maps.simplify import DISPLAY_DECIMALS, DISPLAY_TOLERANCE_M
from gridplan.maps.style import (
    COMMUNITY_FILL_OPACITY,
    STATUS_BADGES,
    STATUS_LABELS,
    Band,
    BandStatus,
    band_status,
    community_colours,
    finding_display_style,
    road_classes_present,
    road_style,
    status_outline,
    status_style,
)
from gridplan.maps.tiles import Tiles
from gridplan.plan import Level

#: Default walking speed for service circles, metres per minute.
WALK_SPEED_M_PER_MIN = 80.0
#: Default walking times drawn around each facility, minutes.
WALK_MINUTES: tuple[float, ...] = (10.0, 15.0)
#: Findings rules in legend order (unknown rules follow, sorted).
_RULE_ORDER: tuple[str, ...] = (
    "roads.off_road",
    "enclave.exclave",
    "enclave.embedded",
    "coverage.gap",
    "coverage.overlap",
    "compound.split",
    "compound.unassigned",
    "compound.override_violated",
    "size.under",
    "size.over",
)
_CIRCLE_COLOURS = ("#2c7fb8", "#7fcdbb", "#c7e9b4")
#: Findings whose layer is off when the map opens: an area's size is already shown by its
#: outline and badge, and the finding's geometry is the whole area.
_OFF_RULES = frozenset({"size.under", "size.over"})


def render_plan_map(
    layers: MapLayers,
    *,
    tiles: Tiles | str = Tiles.NONE,
    walk_speed_m_per_min: float = WALK_SPEED_M_PER_MIN,
    walk_minutes: Sequence[float] = WALK_MINUTES,
    tolerance_m: float = DISPLAY_TOLERANCE_M,
    decimals: int = DISPLAY_DECIMALS,
    label_limit: int = 1000,
    label_min_zoom: int | None = None,
    show_units: bool = False,
    show_walks: bool = False,
    prefer_canvas: bool = False,
) -> folium.Map:
    """Draw a plan's layers on one map.

    Parameters
    ----------
    layers
        What to draw (see :class:`~gridplan.maps.inputs.MapLayers`).
    tiles
        ``none`` (offline, no network request at all), ``osm`` or ``gaode`` (GCJ-02 tiles;
        geometry is converted to GCJ-02 before drawing).
    walk_speed_m_per_min, walk_minutes
        Walking circles around facilities: radius = speed × minutes (80 m/min: 800 m and
        1200 m).
    tolerance_m, decimals
        Display simplification in metres and decimals kept in coordinates.
    label_limit
        Grid codes are permanent labels up to this many grids, hover labels above.
    label_min_zoom
        Grid codes show from this zoom level on; ``None`` (default): from one zoom closer than
        the opening view, so the opening view shows community labels only. Either way a code
        shows only where it fits inside its grid and overlaps no other label.
    show_units
        Show the units layer when the map opens.
    show_walks
        Show the walking circles when the map opens (off by default: they would cover the
        plan).
    prefer_canvas
        Draw on a canvas instead of SVG.

    Returns
    -------
    folium.Map
        Save it with :func:`save_map` (or get the page with :func:`map_html`).
    """
    if walk_speed_m_per_min <= 0 or any(m <= 0 for m in walk_minutes):
        raise InputError("walking speed and minutes must be positive")
    canvas = MapCanvas(
        layers.communities,
        tiles=tiles,
        tolerance_m=tolerance_m,
        decimals=decimals,
        prefer_canvas=prefer_canvas,
    )
    canvas.add_title(layers.title)
    findings = _findings_by_area(layers.findings)
    colours = community_colours(layers.communities)
    band = layers.band(Level.COMMUNITY)
    communities = _add_communities(canvas, layers.communities, band, findings, colours)
    _add_community_labels(canvas, communities, band)  # first: the labels of highest priority
    if layers.compounds is not None and not layers.compounds.empty:
        _add_compounds(canvas, layers.compounds, layers.communities, colours)
    if layers.units is not None and not layers.units.empty:
        _add_units(canvas, layers.units, show_units)
    if layers.roads is not None and not layers.roads.empty:
        _add_roads(canvas, layers.roads)
    if layers.findings is not None and not layers.findings.empty:
        _add_findings(canvas, layers.findings)
    if layers.grids is not None and not layers.grids.empty:
        _add_grids(
            canvas,
            layers.grids,
            layers.communities,
            layers.band(Level.GRID),
            findings,
            label_limit,
            label_min_zoom,
        )
    _add_boundaries(canvas, communities)
    network = has_reach(layers.isochrones)  # isochrones along the network replace circles
    if layers.facilities is not None and not layers.facilities.empty:
        minutes = () if network else walk_minutes
        _add_facilities(canvas, layers.facilities, walk_speed_m_per_min, minutes, show_walks)
    add_reach(canvas, layers.isochrones, layers.unreached, show_isochrones=show_walks)
    _add_community_panel(canvas, layers, communities, band)
    canvas.script(f"gridplan.panel({canvas.map.get_name()}, [{communities.layer.get_name()}]);")
    return canvas.finish()


def map_html(fmap: folium.Map) -> str:
    """The complete HTML page of a map (UTF-8 text).

    Embedded data is written as compact JSON with non-ASCII text kept as UTF-8 (folium's
    default pads every separator and escapes every Chinese character as ``\\uXXXX``): the
    page is smaller and parses faster. The JSON settings are folium's template environment's
    and are restored afterwards.
    """
    policies = folium.GeoJson._template.environment.policies
    saved = policies.get("json.dumps_kwargs")
    policies["json.dumps_kwargs"] = {
        "sort_keys": True,
        "separators": (",", ":"),
        "ensure_ascii": False,
    }
    try:
        return str(fmap.get_root().render())
    finally:
        policies["json.dumps_kwargs"] = saved


def save_map(fmap: folium.Map, path: str | Path) -> Path:
    """Write the map's page to ``path`` (UTF-8), creating folders; return the path.

    Raises
    ------
    InputError
        If ``path`` can't be written (a folder, a read-only place).
    """
    out = Path(path)
    page = map_html(fmap)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out}: cannot write the map ({exc.strerror or exc})") from exc
    return out


# --- layers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Drawn:
    """The communities as drawn: their layer, display copy, band status and fill colours."""

    layer: folium.GeoJson
    frame: gpd.GeoDataFrame
    shown: gpd.GeoDataFrame
    status: np.ndarray
    colours: list[str]
    boxes: list[list[float] | None]


def _add_communities(
    canvas: MapCanvas,
    communities: gpd.GeoDataFrame,
    band: Band | None,
    findings: Mapping[tuple[str, str], str],
    colours: Mapping[str, str],
) -> _Drawn:
    field = band.field if band is not None else "households"
    values = _numeric(communities, field)
    status = band_status(values, band)
    shown = canvas.display(communities, coverage=True)
    ids = communities["area_id"].astype(str)
    fills = [colours.get(i, "#cccccc") for i in ids]
    keys = [f"{c}|{s}" for c, s in zip(fills, status, strict=True)]
    props = pd.DataFrame(
        {
            "area_id": [escape(i) for i in ids],
            "name": text_column(communities, "name"),
            "code": text_column(communities, "code"),
            "households": _counts(communities, "households"),
            "residents": _counts(communities, "residents"),
            "status": [_status_text(s, band) for s in status],
            "road_share": _shares(communities, "road_boundary_share"),
            "findings": _area_findings(communities, Level.COMMUNITY, findings),
            "_s": keys,
        }
    )
    styles = {k: status_style(k.split("|")[1], k.split("|")[0]) for k in sorted(set(keys))}
    name = "Communities" + (f" (band {band.label()})" if band is not None else "")
    layer = geojson_layer(
        canvas,
        shown,
        props,
        name=name,
        styles=styles,
        tooltip=(["name", "code", "households", "status"], ["name", "code", "households", "band"]),
        popup=(
            ["name", "code", "households", "residents", "status", "road_share", "findings"],
            ["name", "code", "households", "residents", "band", "road share", "findings"],
        ),
        highlight={"fillOpacity": 0.8},
        pane=PANE_FILL,
    )
    layer.add_to(canvas.map)
    counts = pd.Series(status).value_counts()
    rows = "".join(
        _outline_row(s.value, f"{STATUS_LABELS[s]} ({int(counts.get(s.value, 0))})")
        for s in BandStatus
        if s != BandStatus.UNKNOWN or counts.get(s.value, 0)
    )
    sample = "".join(
        f'<span class="gp-sw" style="background:{c};opacity:{COMMUNITY_FILL_OPACITY + 0.2}"></span>'
        for c in list(dict.fromkeys(fills))[:6]
    )
    head = f"Communities: band {escape(band.label())}" if band is not None else "Communities"
    canvas.legend.append(
        f'<div class="gp-sec" data-layer="communities"><b>{head}</b>'
        f'<div class="gp-row">{sample}</div>'
        '<div class="gp-note">fill: each community its own colour (neighbours always '
        "differ)</div>"
        '<div class="gp-note">outline and badge: band status</div>'
        f"{rows}</div>"
    )
    return _Drawn(layer, communities, shown, status, fills, bounds_of(shown))


def _add_boundaries(canvas: MapCanvas, drawn: _Drawn) -> None:
    """The community outlines again, above grids and findings (shown with the communities)."""
    keys = [str(s) for s in drawn.status]
    styles = {k: {**status_style(k), "fill": False} for k in sorted(set(keys))}
    canvas.outline_above(drawn.layer, drawn.shown, keys, styles, "Community boundaries")


def _add_community_labels(canvas: MapCanvas, drawn: _Drawn, band: Band | None) -> None:
    field = band.field if band is not None else "households"
    unit = "人" if field == "residents" else "户"
    names = text_column(drawn.frame, "name", fallback=drawn.frame["area_id"].astype(str))
    values = _numeric(drawn.frame, field)
    places = label_places(drawn.shown)
    areas = shapely.area(np.asarray(drawn.shown.geometry.values, dtype=object))
    items = []
    for i in np.argsort(-np.nan_to_num(areas, nan=0.0), kind="stable"):
        if not places[i]:
            continue
        count = MISSING if np.isnan(values[i]) else format_count(values[i])
        text = f"<b>{names.iloc[i]}</b><br>{count}{unit} {_badge(str(drawn.status[i]))}"
        lat, lon = places[i][0]
        items.append((lat, lon, text, drawn.boxes[i], places[i][1:]))
    canvas.labels(drawn.layer, items, class_name="gp-community-label", min_zoom=0)


def _add_community_panel(
    canvas: MapCanvas, layers: MapLayers, drawn: _Drawn, band: Band | None
) -> None:
    """The table of communities: one row each, clicking a row zooms to it."""
    frame = drawn.frame
    ids = frame["area_id"].astype(str).tolist()
    grids = _grid_counts(layers.grids, ids)
    found, outside = _finding_counts(layers, ids)
    names = text_column(frame, "name", fallback=frame["area_id"].astype(str))
    codes = text_column(frame, "code")
    households = _counts(frame, "households")
    residents = _counts(frame, "residents")
    rows = []
    for i, area in enumerate(ids):
        title = f"code {codes.iloc[i]}" if codes.iloc[i] != MISSING else f"id {escape(area)}"
        rows.append(
            f'<tr data-area="{escape(area)}" data-bounds="{panel_bounds(drawn.boxes[i])}" '
            f'title="{title}: click to zoom">'
            f'<td><span class="gp-dot" style="background:{drawn.colours[i]}"></span>'
            f"{names.iloc[i]}</td>"
            f'<td class="n">{households[i]}</td><td class="n">{residents[i]}</td>'
            f'<td class="n">{grids.get(area, 0) if layers.grids is not None else MISSING}</td>'
            f"<td>{_badge(str(drawn.status[i]))}</td>"
            f'<td class="n">{found.get(area, 0)}</td></tr>'
        )
    total_hh = _numeric(frame, "households")
    summary = f"{len(ids)} communities"
    if layers.grids is not None:
        summary += f", {len(layers.grids)} grids"
    if not np.isnan(total_hh).all():
        summary += f", {format_count(float(np.nansum(total_hh)))} households"
    in_band = int((drawn.status == BandStatus.IN.value).sum())
    if band is not None:
        summary += f"; {in_band} of {len(ids)} in the band"
    note = (
        f'<div class="gp-note">{outside} finding(s) outside every community</div>'
        if outside
        else ""
    )
    canvas.panel.append(
        '<div class="gp-sec" id="gridplan-communities">'
        f'<div class="gp-note">{escape(summary)}</div>'
        '<div class="gp-tbl"><table><thead><tr><th>community</th><th class="n">households</th>'
        '<th class="n">residents</th><th class="n">grids</th><th>band</th>'
        '<th class="n" title="findings on the community and its grids">findings</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table></div>{note}</div>"
    )


def _grid_counts(grids: gpd.GeoDataFrame | None, ids: list[str]) -> dict[str, int]:
    if grids is None or grids.empty or "parent_id" not in grids.columns:
        return {}
    parents = grids["parent_id"].dropna().astype(str)
    return {str(k): int(v) for k, v in parents.value_counts().items()}


def _finding_counts(layers: MapLayers, ids: list[str]) -> tuple[dict[str, int], int]:
    """Findings per community (its own and its grids'; findings without an area are placed by
    location), and how many lie outside every community."""
    findings = layers.findings
    if findings is None or findings.empty:
        return {}, 0
    known = set(ids)
    parent: dict[str, str] = {}
    if layers.grids is not None and "parent_id" in layers.grids.columns:
        parent = {
            str(g): str(p)
            for g, p in zip(layers.grids["area_id"], layers.grids["parent_id"], strict=True)
            if p is not None and not pd.isna(p)
        }
    levels = (
        findings["level"].astype(str)
        if "level" in findings.columns
        else pd.Series([Level.COMMUNITY.value] * len(findings))
    )
    areas = (
        findings["area_id"].map(lambda v: None if pd.isna(v) else str(v))
        if "area_id" in findings.columns
        else pd.Series([None] * len(findings))
    )
    owner: list[str | None] = []
    for level, area in zip(levels, areas, strict=True):
        if area is None:
            owner.append(None)
        elif level == Level.GRID.value:
            owner.append(parent.get(area))
        else:
            owner.append(area if area in known else None)
    unplaced = [i for i, o in enumerate(owner) if o is None]
    if unplaced:
        geoms = findings.iloc[unplaced]
        drawable = ~(shapely.is_missing(np.asarray(geoms.geometry.values, dtype=object)))
        holders = np.full(len(unplaced), None, dtype=object)
        if drawable.any():
            holders[drawable] = areas_holding(geoms[drawable], layers.communities)
        for i, h in zip(unplaced, holders, strict=True):
            owner[i] = None if h is None else str(h)
    counts = pd.Series([o for o in owner if o is not None], dtype=object).value_counts()
    return {str(k): int(v) for k, v in counts.items()}, sum(o is None for o in owner)


def _add_grids(
    canvas: MapCanvas,
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    band: Band | None,
    findings: Mapping[tuple[str, str], str],
    label_limit: int,
    label_min_zoom: int | None,
) -> None:
    field = band.field if band is not None else "households"
    status = band_status(_numeric(grids, field), band)
    shown = canvas.display(grids, coverage=True)
    names = dict(
        zip(
            communities["area_id"].astype(str),
            text_column(communities, "name", fallback=communities["area_id"].astype(str)),
            strict=True,
        )
    )
    parents = (
        grids["parent_id"].map(lambda p: names.get(str(p), str(p)) if p is not None else MISSING)
        if "parent_id" in grids.columns
        else pd.Series([MISSING] * len(grids))
    )
    code = text_column(grids, "code", fallback=grids["area_id"].astype(str))
    props = pd.DataFrame(
        {
            "code": code,
            "name": text_column(grids, "name"),
            "community": [escape(str(p)) for p in parents],
            "households": _counts(grids, "households"),
            "residents": _counts(grids, "residents"),
            "status": [_status_text(s, band) for s in status],
            "findings": _area_findings(grids, Level.GRID, findings),
        }
    )
    # outline only: clicks inside a grid reach its community; the outline opens the grid's popup
    style = {"color": "#3d3d3d", "weight": 1.2, "opacity": 0.9, "dashArray": "4 3", "fill": False}
    permanent = len(grids) <= label_limit
    layer = geojson_layer(
        canvas,
        shown,
        props,
        name=f"Grids ({len(grids)})",
        styles={"": style},
        tooltip=None if permanent else (["code"], ["grid"]),
        popup=(
            ["code", "name", "community", "households", "residents", "status", "findings"],
            ["grid code", "name", "community", "households", "residents", "band", "findings"],
        ),
        highlight={"weight": 2.5, "fillOpacity": 0.1, "fillColor": "#222222"},
        pane=PANE_GRIDS,
    )
    layer.add_to(canvas.map)
    if permanent:
        points = label_points(shown)
        boxes = bounds_of(shown)
        areas = shapely.area(np.asarray(shown.geometry.values, dtype=object))
        badges = [_badge(s) if s != BandStatus.UNKNOWN.value else "" for s in status]
        items = [
            (points[i][0], points[i][1], f"{code.iloc[i]} {badges[i]}".strip(), boxes[i])
            for i in np.argsort(-np.nan_to_num(areas, nan=0.0), kind="stable")
            if points[i] is not None
        ]
        canvas.labels(
            layer,
            items,
            class_name="gp-grid-label",
            min_zoom=label_min_zoom,
            zoom_offset=1,
            fit=True,
        )
    band_text = f": band {escape(band.label())}" if band is not None else ""
    zoom = "zoomed in" if label_min_zoom is None else f"from zoom {label_min_zoom}"
    canvas.legend.append(
        f'<div class="gp-sec" data-layer="grids"><b>Grids{band_text}</b>'
        f"{legend_line('#3d3d3d', 1.5, '4 3', f'grid boundary; code and badge shown {zoom}')}"
        "</div>"
    )


def _add_compounds(
    canvas: MapCanvas,
    compounds: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    colours: Mapping[str, str],
) -> None:
    holder = compound_communities(compounds, communities)
    names = dict(
        zip(
            communities["area_id"].astype(str),
            text_column(communities, "name", fallback=communities["area_id"].astype(str)),
            strict=True,
        )
    )
    keys = [
        shade(colours[h], 0.82) if h is not None and h in colours else "#9e9e9e" for h in holder
    ]
    shown = canvas.display(compounds)
    props = pd.DataFrame(
        {
            "name": text_column(compounds, "name", fallback=compounds["compound_id"].astype(str)),
            "kind": text_column(compounds, "kind"),
            "households": _counts(compounds, "households"),
            "residents": _counts(compounds, "residents"),
            "community": [
                escape(names.get(h, h)) if h is not None else "unassigned" for h in holder
            ],
            "_s": keys,
        }
    )
    styles = {
        c: {
            "color": "#555555",
            "weight": 0.8,
            "fillColor": c,
            "fillOpacity": 0.8,
            "radius": 5,
        }
        for c in set(keys)
    }
    geojson_layer(
        canvas,
        shown,
        props,
        name=f"Compounds ({len(compounds)}), coloured by community",
        styles=styles,
        tooltip=(["name", "community"], ["compound", "community"]),
        popup=(
            ["name", "kind", "households", "residents", "community"],
            ["compound", "kind", "households", "residents", "community"],
        ),
        highlight={"weight": 2.5},
        pane=PANE_FILL,
    ).add_to(canvas.map)
    canvas.legend.append(
        '<div class="gp-sec" data-layer="compounds"><b>Compounds</b>'
        '<div class="gp-note">a deeper shade of the community holding them</div>'
        f"{legend_swatch('#9e9e9e', 'in no community')}</div>"
    )


def _add_roads(canvas: MapCanvas, roads: gpd.GeoDataFrame) -> None:
    classes = (
        roads["road_class"].astype(object).where(roads["road_class"].notna(), None)
        if "road_class" in roads.columns
        else pd.Series([None] * len(roads))
    )
    present = road_classes_present(list(classes))
    keys = [c if c in present else "other" for c in classes]
    shown = canvas.display(roads)
    props = pd.DataFrame(
        {
            "name": text_column(roads, "name"),
            "road_class": [str(k) for k in keys],
            "_s": keys,
        }
    )
    styles = {c: road_style(c) for c in {*present, "other"}}
    geojson_layer(
        canvas,
        shown,
        props,
        name=f"Roads ({len(roads)})",
        styles=styles,
        tooltip=(["name", "road_class"], ["road", "class"]),
        popup=None,
        highlight=None,
        pane=PANE_ROADS,
    ).add_to(canvas.map)
    rows = "".join(
        legend_line(road_style(c)["color"], float(road_style(c)["weight"]), None, c)
        for c in present
    )
    canvas.legend.append(f'<div class="gp-sec" data-layer="roads"><b>Roads</b>{rows}</div>')


def _add_findings(canvas: MapCanvas, findings: gpd.GeoDataFrame) -> None:
    geoms = np.asarray(findings.geometry.values, dtype=object)
    drawable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    rules = findings["rule"].astype(str)
    present = sorted(set(rules), key=lambda r: (_rule_rank(r), r))
    rows: list[str] = []
    for rule in present:
        mask = (rules == rule).to_numpy()
        subset = findings[mask & drawable]
        total = int(mask.sum())
        count = f"{total}{_level_counts(findings[mask])}"
        kinds = shapely.get_type_id(np.asarray(subset.geometry.values, dtype=object))
        lines = np.isin(kinds, (1, 2, 5))  # LineString, LinearRing, MultiLineString
        style = finding_display_style(rule, line=bool(len(kinds)) and bool(lines.all()))
        off = " (off: shown by outlines and badges)" if rule in _OFF_RULES else ""
        rows.append(_finding_swatch(style, f"{rule} ({count}){off}"))
        if subset.empty:
            continue
        shown = canvas.display(subset, tolerance_m=min(canvas.tolerance_m, 0.5))
        keys = ["line" if k else "" for k in lines]
        props = pd.DataFrame(
            {
                "rule": [rule] * len(subset),
                "severity": text_column(subset, "severity"),
                "level": text_column(subset, "level"),
                "area_id": text_column(subset, "area_id"),
                "value": [_value_text(v) for v in _numeric(subset, "value")],
                "message": text_column(subset, "message"),
                "_s": keys,
            }
        )
        styles = {
            "": {**finding_display_style(rule), "radius": 7},
            "line": finding_display_style(rule, line=True),
        }
        geojson_layer(
            canvas,
            shown,
            props,
            name=f"Finding {rule} ({count})",
            show=rule not in _OFF_RULES,
            styles={k: styles[k] for k in sorted(set(keys))},
            tooltip=(["rule", "message"], ["rule", "finding"]),
            popup=(
                ["rule", "severity", "level", "area_id", "value", "message"],
                ["rule", "severity", "level", "area", "value", "message"],
            ),
            highlight={"opacity": 1.0},
            pane=PANE_FINDINGS,
        ).add_to(canvas.map)
    canvas.legend.append(
        f'<div class="gp-sec" data-layer="findings"><b>Findings</b>'
        '<div class="gp-note">drawn under the boundaries, thin; one layer per rule</div>'
        f"{''.join(rows)}</div>"
    )


def _add_facilities(
    canvas: MapCanvas,
    facilities: gpd.GeoDataFrame,
    speed: float,
    minutes: Sequence[float],
    show_walks: bool,
) -> None:
    wgs = to_storage(facilities, "facilities")
    points = shapely.point_on_surface(np.asarray(wgs.geometry.values, dtype=object))
    names = text_column(
        wgs, "name", fallback=pd.Series([f"facility {i + 1}" for i in range(len(wgs))])
    )
    kinds = text_column(wgs, "kind")
    walks = "/".join(format_number(m) for m in minutes)
    group = folium.FeatureGroup(name=f"Facilities ({len(wgs)})")
    circles = folium.FeatureGroup(name=f"Walking circles ({walks} minutes)", show=show_walks)
    ordered = sorted(minutes, reverse=True)
    walks_text = ", ".join(_walk_text(m, speed) for m in sorted(minutes))
    for i, pt in enumerate(points):
        label = f"{names.iloc[i]} ({kinds.iloc[i]})" if kinds.iloc[i] != MISSING else names.iloc[i]
        if pt is None or shapely.is_empty(pt):
            continue
        lat, lon = canvas.point(float(shapely.get_x(pt)), float(shapely.get_y(pt)))
        for j, m in enumerate(ordered):
            colour = _CIRCLE_COLOURS[min(len(ordered) - 1 - j, len(_CIRCLE_COLOURS) - 1)]
            folium.Circle(
                location=[lat, lon],
                radius=float(speed * m),
                color=colour,
                weight=1.2,
                opacity=0.8,
                dash_array="6 4",
                fill=True,
                fill_opacity=0.04,
                interactive=False,  # never hide the areas underneath from the pointer
                pane=PANE_ROADS,
            ).add_to(circles)
        folium.CircleMarker(
            location=[lat, lon],
            radius=5,
            color="#08306b",
            weight=2,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=1.0,
            tooltip=label + "<br>" + walks_text,
            pane=PANE_MARKS,
        ).add_to(group)
    group.add_to(canvas.map)
    if minutes:  # none when the map has network isochrones (gridplan.maps.reach)
        circles.add_to(canvas.map)
    rows = "".join(
        legend_swatch(
            _CIRCLE_COLOURS[min(k, len(_CIRCLE_COLOURS) - 1)],
            f"{_walk_text(m, speed)} at {format_number(speed)} m/min",
        )
        for k, m in enumerate(sorted(minutes))
    )
    canvas.legend.append(
        f'<div class="gp-sec" data-layer="facilities"><b>Service facilities</b>'
        f'<div class="gp-note">{_circles_note(minutes)}</div>{rows}</div>'
    )


def _circles_note(minutes: Sequence[float]) -> str:
    if minutes:
        return "walking circles: switch on under Layers"
    return "walking reach: along the network (below)"


def _add_units(canvas: MapCanvas, units: gpd.GeoDataFrame, show: bool) -> None:
    shown = canvas.display(units, coverage=True)
    props = pd.DataFrame(
        {
            "unit_id": units["unit_id"].astype(str).map(escape),
            "households": _counts(units, "households"),
        }
    )
    geojson_layer(
        canvas,
        shown,
        props,
        name=f"Units ({len(units)})",
        styles={"": {"color": "#7f7f7f", "weight": 0.6, "fillOpacity": 0.0}},
        tooltip=(["unit_id", "households"], ["unit", "households"]),
        popup=None,
        highlight=None,
        show=show,
        pane=PANE_FILL,
    ).add_to(canvas.map)


# --- membership -------------------------------------------------------------------------


def compound_communities(
    compounds: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> list[str | None]:
    """The community holding each compound.

    Uses the compounds' ``community_id`` column when there is one; otherwise
    :func:`gridplan.geo.diff.areas_holding` (the community containing each compound's
    representative point, ``None`` when none does).
    """
    if "community_id" in compounds.columns:
        return [None if pd.isna(v) else str(v) for v in compounds["community_id"]]
    return list(areas_holding(compounds, communities))


# --- helpers ----------------------------------------------------------------------------


def _findings_by_area(findings: gpd.GeoDataFrame | None) -> dict[tuple[str, str], str]:
    """``(level, area_id) -> "rule: message<br>…"`` for popups (HTML-escaped)."""
    if findings is None or findings.empty or "area_id" not in findings.columns:
        return {}
    frame = pd.DataFrame(
        {
            "level": findings["level"].astype(str) if "level" in findings.columns else "",
            "area_id": findings["area_id"].map(lambda v: None if pd.isna(v) else str(v)),
            "rule": findings["rule"].astype(str),
            "message": text_column(findings, "message"),
        }
    )
    frame = frame[frame["area_id"].notna()]
    out: dict[tuple[str, str], str] = {}
    for (level, area), group in frame.groupby(["level", "area_id"], sort=False):
        lines = [f"{escape(r)}: {m}" for r, m in zip(group["rule"], group["message"], strict=True)]
        more = f"<br>… and {len(lines) - 6} more" if len(lines) > 6 else ""
        out[(str(level), str(area))] = "<br>".join(lines[:6]) + more
    return out


def _area_findings(
    areas: gpd.GeoDataFrame, level: Level, findings: Mapping[tuple[str, str], str]
) -> list[str]:
    ids = areas["area_id"].astype(str)
    return [findings.get((level.value, i), findings.get(("", i), "none")) for i in ids]


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return np.asarray(pd.to_numeric(frame[column], errors="coerce"), dtype=float)


def _counts(frame: pd.DataFrame, column: str) -> list[str]:
    return [MISSING if np.isnan(v) else format_count(v) for v in _numeric(frame, column)]


def _shares(frame: pd.DataFrame, column: str) -> list[str]:
    return [MISSING if np.isnan(v) else f"{v * 100:.0f}%" for v in _numeric(frame, column)]


def _status_text(status: str, band: Band | None) -> str:
    label = STATUS_LABELS[BandStatus(status)]
    return f"{label} ({band.label()})" if band is not None else label


def _value_text(value: float) -> str:
    if np.isnan(value):
        return MISSING
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3g}"


def _walk_text(minutes: float, speed: float) -> str:
    return f"{format_number(minutes)}-minute walk ({format_number(speed * minutes)} m)"


def _level_counts(findings: pd.DataFrame) -> str:
    """``""`` when every finding is at community level, else e.g. ``": 1 community, 2 grid"``."""
    if "level" not in findings.columns:
        return ""
    levels = findings["level"].astype(str).value_counts()
    if set(levels.index) <= {Level.COMMUNITY.value}:
        return ""
    return ": " + ", ".join(f"{n} {lvl}" for lvl, n in sorted(levels.items()))


def _rule_rank(rule: str) -> int:
    return _RULE_ORDER.index(rule) if rule in _RULE_ORDER else len(_RULE_ORDER)


def _finding_swatch(style: Mapping[str, Any], label: str) -> str:
    colour = str(style.get("color", "#ff6f00"))
    fill = str(style.get("fillColor", "transparent"))
    opacity = float(style.get("fillOpacity", 0.0))
    border = "dashed" if style.get("dashArray") else "solid"
    return (
        f'<div class="gp-row"><span class="gp-sw" style="border:2px {border} {colour};'
        f'background:{fill if opacity > 0 else "transparent"}"></span>{escape(label)}</div>'
    )


def _badge(status: str) -> str:
    """The status badge of a label or panel row (``✓``, ``↓``, ``↑``, ``?``)."""
    key = BandStatus(status)
    return (
        f'<span class="gp-badge gp-b-{key.value}" title="{STATUS_LABELS[key]}">'
        f"{STATUS_BADGES[key]}</span>"
    )


def _outline_row(status: str, label: str) -> str:
    """Legend row of a band status: its outline swatch and badge."""
    colour, weight, dash = status_outline(status)
    border = "dashed" if dash else "solid"
    return (
        f'<div class="gp-row"><span class="gp-sw" style="background:#f4f4f4;'
        f'border:{max(weight - 0.5, 1):.0f}px {border} {colour}"></span>{_badge(status)}'
        f"{escape(label)}</div>"
    )
