"""Render a plan as one self-contained Folium (Leaflet) HTML map.

Layers, each switchable in the layer control (top right):

* **Communities**, filled by band status (under / in / over the band), with a legend that
  states the band and counts each status;
* **Grids**, outlined, labelled with their grid codes (hover labels above ``label_limit``
  grids);
* **Compounds**, coloured by the community that holds them (neighbouring communities get
  different colours);
* **Roads**, by class;
* **Findings**, one layer per rule id, each styled distinctly (off-road boundary stretches,
  exclave parts, embedded islands, gaps, overlaps, split compounds, …);
* **Facilities** with 10- and 15-minute walking circles (radius = walking speed × minutes,
  drawn in metres);
* **Units** (hidden until switched on).

Popups give name, code, households, residents, band status, road share and the area's
findings; tooltips the essentials. Geometry is simplified for display
(:mod:`gridplan.maps.simplify`); styles are grouped so each feature carries only its id in the
style table, which keeps a city of 10,000 units well under 15 MB.

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
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from gridplan.data.crs import to_storage
from gridplan.errors import InputError
from gridplan.geo.diff import areas_holding
from gridplan.maps.canvas import (
    MISSING,
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
from gridplan.maps.style import (
    STATUS_COLOURS,
    STATUS_LABELS,
    Band,
    BandStatus,
    band_status,
    community_colours,
    finding_style,
    road_classes_present,
    road_style,
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


def render_plan_map(
    layers: MapLayers,
    *,
    tiles: Tiles | str = Tiles.NONE,
    walk_speed_m_per_min: float = WALK_SPEED_M_PER_MIN,
    walk_minutes: Sequence[float] = WALK_MINUTES,
    tolerance_m: float = DISPLAY_TOLERANCE_M,
    decimals: int = DISPLAY_DECIMALS,
    label_limit: int = 300,
    label_min_zoom: int = 15,
    show_units: bool = False,
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
        Permanent grid labels show from this zoom level on (15 ≈ a few streets across), so a
        whole city is not buried under its codes.
    show_units
        Show the units layer when the map opens.
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
    if layers.units is not None and not layers.units.empty:
        _add_units(canvas, layers.units, show_units)
    _add_communities(canvas, layers.communities, layers.band(Level.COMMUNITY), findings)
    if layers.compounds is not None and not layers.compounds.empty:
        _add_compounds(canvas, layers.compounds, layers.communities)
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
    if layers.roads is not None and not layers.roads.empty:
        _add_roads(canvas, layers.roads)
    if layers.findings is not None and not layers.findings.empty:
        _add_findings(canvas, layers.findings)
    if layers.facilities is not None and not layers.facilities.empty:
        _add_facilities(canvas, layers.facilities, walk_speed_m_per_min, walk_minutes)
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


def _add_communities(
    canvas: MapCanvas,
    communities: gpd.GeoDataFrame,
    band: Band | None,
    findings: Mapping[tuple[str, str], str],
) -> None:
    field = band.field if band is not None else "households"
    values = _numeric(communities, field)
    status = band_status(values, band)
    shown = canvas.display(communities, coverage=True)
    props = pd.DataFrame(
        {
            "name": text_column(communities, "name"),
            "code": text_column(communities, "code"),
            "households": _counts(communities, "households"),
            "residents": _counts(communities, "residents"),
            "status": [_status_text(s, band) for s in status],
            "road_share": _shares(communities, "road_boundary_share"),
            "findings": _area_findings(communities, Level.COMMUNITY, findings),
            "_s": status,
        }
    )
    styles = {s.value: status_style(s.value) for s in BandStatus}
    name = "Communities" + (f" (band {band.label()})" if band is not None else "")
    geojson_layer(
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
        highlight={"weight": 3.5, "fillOpacity": 0.55},
    ).add_to(canvas.map)
    counts = pd.Series(status).value_counts()
    rows = "".join(
        legend_swatch(STATUS_COLOURS[s], f"{STATUS_LABELS[s]} ({int(counts.get(s.value, 0))})")
        for s in BandStatus
        if s != BandStatus.UNKNOWN or counts.get(s.value, 0)
    )
    head = f"Communities: band {escape(band.label())}" if band is not None else "Communities"
    canvas.legend.append(f'<div class="gp-sec" data-layer="communities"><b>{head}</b>{rows}</div>')


def _add_grids(
    canvas: MapCanvas,
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    band: Band | None,
    findings: Mapping[tuple[str, str], str],
    label_limit: int,
    label_min_zoom: int,
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
    style = {"color": "#222222", "weight": 1.2, "dashArray": "4 3", "fill": False}
    permanent = len(grids) <= label_limit
    geojson_layer(
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
        on_each_feature=_PERMANENT_LABEL if permanent else None,
    ).add_to(canvas.map)
    if permanent:
        _LabelZoom(label_min_zoom).add_to(canvas.map)
    band_text = f": band {escape(band.label())}" if band is not None else ""
    canvas.legend.append(
        f'<div class="gp-sec" data-layer="grids"><b>Grids{band_text}</b>'
        f"{legend_line('#222222', 1.5, '4 3', 'grid boundary, labelled with its code')}</div>"
    )


def _add_compounds(
    canvas: MapCanvas, compounds: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> None:
    holder = compound_communities(compounds, communities)
    colours = community_colours(to_storage(communities))
    names = dict(
        zip(
            communities["area_id"].astype(str),
            text_column(communities, "name", fallback=communities["area_id"].astype(str)),
            strict=True,
        )
    )
    keys = [colours.get(h, "#9e9e9e") if h is not None else "#9e9e9e" for h in holder]
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
        c: {"color": c, "weight": 1.5, "fillColor": c, "fillOpacity": 0.6, "radius": 5}
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
        highlight={"weight": 3},
    ).add_to(canvas.map)
    canvas.legend.append(
        '<div class="gp-sec" data-layer="compounds"><b>Compounds</b>'
        f"{legend_swatch('#1b9e77', 'coloured by their community')}"
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
        style = finding_style(rule)
        rows.append(_finding_swatch(style, f"{rule} ({count})"))
        if subset.empty:
            continue
        shown = canvas.display(subset, tolerance_m=min(canvas.tolerance_m, 0.5))
        props = pd.DataFrame(
            {
                "rule": [rule] * len(subset),
                "severity": text_column(subset, "severity"),
                "level": text_column(subset, "level"),
                "area_id": text_column(subset, "area_id"),
                "value": [_value_text(v) for v in _numeric(subset, "value")],
                "message": text_column(subset, "message"),
            }
        )
        geojson_layer(
            canvas,
            shown,
            props,
            name=f"Finding {rule} ({count})",
            styles={"": {**style, "radius": 7}},
            tooltip=(["rule", "message"], ["rule", "finding"]),
            popup=(
                ["rule", "severity", "level", "area_id", "value", "message"],
                ["rule", "severity", "level", "area", "value", "message"],
            ),
            highlight={"weight": float(style.get("weight", 3)) + 2},
        ).add_to(canvas.map)
    canvas.legend.append(
        f'<div class="gp-sec" data-layer="findings"><b>Findings</b>{"".join(rows)}</div>'
    )


def _add_facilities(
    canvas: MapCanvas,
    facilities: gpd.GeoDataFrame,
    speed: float,
    minutes: Sequence[float],
) -> None:
    wgs = to_storage(facilities, "facilities")
    points = shapely.point_on_surface(np.asarray(wgs.geometry.values, dtype=object))
    names = text_column(
        wgs, "name", fallback=pd.Series([f"facility {i + 1}" for i in range(len(wgs))])
    )
    kinds = text_column(wgs, "kind")
    walks = "/".join(format_number(m) for m in minutes)
    group = folium.FeatureGroup(name=f"Facilities ({len(wgs)}) with {walks}-minute walks")
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
            ).add_to(group)
        folium.CircleMarker(
            location=[lat, lon],
            radius=6,
            color="#08306b",
            weight=2,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=1.0,
            tooltip=label + "<br>" + walks_text,
        ).add_to(group)
    group.add_to(canvas.map)
    rows = "".join(
        legend_swatch(
            _CIRCLE_COLOURS[min(k, len(_CIRCLE_COLOURS) - 1)],
            f"{_walk_text(m, speed)} at {format_number(speed)} m/min",
        )
        for k, m in enumerate(sorted(minutes))
    )
    canvas.legend.append(
        f'<div class="gp-sec" data-layer="facilities"><b>Service facilities</b>{rows}</div>'
    )


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
    return [MISSING if np.isnan(v) else format_number(v) for v in _numeric(frame, column)]


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


#: Binds each grid's code as a permanent label at its centre.
_PERMANENT_LABEL = """function(feature, layer) {
    layer.bindTooltip(feature.properties.code,
        {permanent: true, direction: "center", className: "gp-label", interactive: false});
}"""


class _LabelZoom(MacroElement):
    """Hides the permanent grid labels below a zoom level (CSS class on the map container)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            function gridplanLabels() {
                map.getContainer().classList.toggle(
                    "gp-hide-labels", map.getZoom() < {{ this.min_zoom }});
            }
            map.on("zoomend", gridplanLabels);
            map.whenReady(gridplanLabels);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, min_zoom: int) -> None:
        super().__init__()
        self._name = "GridLabelZoom"
        self.min_zoom = int(min_zoom)
