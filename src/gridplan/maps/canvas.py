"""The page every gridplan map is drawn on: :class:`MapCanvas` and its drawing helpers.

A canvas is a folium map made self-contained (Leaflet and gridplan's small map script
``maps/static/gridplan-map.js`` inlined, see :mod:`gridplan.maps.tiles`) with an optional base
map, and a side panel beside the map holding the title, the tables a map adds (communities,
moves), the legend and the layer control. It converts every drawn geometry for display
(simplified, EPSG:4326, or GCJ-02 for Chinese tiles). :func:`geojson_layer` adds one GeoJSON
layer whose features carry only display strings and a style key, so the page holds each
distinct style once.

Layers are drawn in ordered panes (:data:`PANES`): area fills at the bottom, then roads, then
findings, then grid boundaries, then community boundaries, then point marks; labels float
above in a pane that never takes the pointer. So a finding never hides a boundary.
"""

from __future__ import annotations

import html as html_lib
import json
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.utilities import JsCode
from jinja2 import Template

from gridplan.data.crs import to_gcj02, wgs84_to_gcj02
from gridplan.maps.simplify import DISPLAY_DECIMALS, DISPLAY_TOLERANCE_M, simplify_for_display
from gridplan.maps.tiles import (
    BLANK_BACKGROUND,
    Tiles,
    add_tiles,
    make_self_contained,
    needs_gcj02,
    page_of,
    tile_option,
)

#: Shown where a value is missing.
MISSING = "–"

#: Width of the side panel, pixels (the map fills the rest of the window).
PANEL_WIDTH_PX = 360

#: Panes in drawing order (inside Leaflet's overlay pane): name -> z-index.
PANE_FILL = "gp-fill"
PANE_ROADS = "gp-roads"
PANE_FINDINGS = "gp-findings"
PANE_GRIDS = "gp-grids"
PANE_BOUNDS = "gp-bounds"
PANE_MARKS = "gp-marks"
PANE_LABELS = "gp-labels"
PANES: tuple[tuple[str, int], ...] = (
    (PANE_FILL, 1),
    (PANE_ROADS, 2),
    (PANE_FINDINGS, 3),
    (PANE_GRIDS, 4),
    (PANE_BOUNDS, 5),
    (PANE_MARKS, 6),
)


class MapCanvas:
    """A folium map under construction with gridplan's page furniture.

    Holds the display options shared by :func:`render_plan_map` and
    :func:`gridplan.maps.diff.render_diff_map`: simplification, GCJ-02 conversion for Chinese
    tiles, the legend and the title.

    Parameters
    ----------
    bounds_source
        The layer whose extent the map opens on (any CRS).
    tiles
        Base map option.
    tolerance_m, decimals
        Display simplification (see :func:`~gridplan.maps.simplify.simplify_for_display`).
    prefer_canvas
        Draw vectors on a canvas instead of SVG (faster for very large maps, but the browser
        test counts SVG paths, so the default is SVG).
    """

    def __init__(
        self,
        bounds_source: gpd.GeoDataFrame,
        *,
        tiles: Tiles | str = Tiles.NONE,
        tolerance_m: float = DISPLAY_TOLERANCE_M,
        decimals: int = DISPLAY_DECIMALS,
        prefer_canvas: bool = False,
    ) -> None:
        self.tiles = tile_option(tiles)
        self.gcj02 = needs_gcj02(self.tiles)
        self.tolerance_m = tolerance_m
        self.decimals = decimals
        self.legend: list[str] = []
        self.panel: list[str] = []
        self.title = ""
        extent = self.display(bounds_source, tolerance_m=0.0)
        minx, miny, maxx, maxy = (float(v) for v in extent.total_bounds)
        self.bounds = [[miny, minx], [maxy, maxx]]
        self.map = folium.Map(
            location=[(miny + maxy) / 2.0, (minx + maxx) / 2.0],
            zoom_start=13,
            tiles=None,
            control_scale=True,
            prefer_canvas=prefer_canvas,
            attribution_control=self.tiles != Tiles.NONE,
            zoom_snap=0.25,
            zoom_delta=0.5,
        )
        make_self_contained(self.map)
        add_tiles(self.map, self.tiles)
        page = page_of(self.map)
        page.header.add_child(Element(_PAGE_CSS), name="gridplan_css")
        page.header.add_child(Element(f"<script>{map_script()}</script>"), name="gridplan_map_js")
        panes = [[name, z, ""] for name, z in PANES] + [[PANE_LABELS, 450, "top"]]
        name = self.map.get_name()
        # open on the plan's extent at once (an animated fit would still be running when the
        # page is first looked at, or screenshotted)
        self.script(
            f"gridplan.panes({name}, {json.dumps(panes)});"
            f"{name}.fitBounds({json.dumps(self.bounds)}, {{animate: false, padding: [16, 16]}});"
        )

    def display(
        self,
        gdf: gpd.GeoDataFrame,
        *,
        coverage: bool = False,
        tolerance_m: float | None = None,
    ) -> gpd.GeoDataFrame:
        """A display copy of ``gdf``: simplified, EPSG:4326 (GCJ-02 for Chinese tiles)."""
        tol = self.tolerance_m if tolerance_m is None else tolerance_m
        out = simplify_for_display(gdf, tolerance_m=tol, decimals=self.decimals, coverage=coverage)
        if self.gcj02 and not out.empty:
            out = to_gcj02(out)
        return out

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        """A WGS84 point as drawn on this map's tiles, ``(lat, lon)`` for Leaflet."""
        if self.gcj02:
            x, y = wgs84_to_gcj02(lon, lat)
            return float(y), float(x)
        return lat, lon

    def add_title(self, title: str) -> None:
        """Show ``title`` at the top of the side panel and as the page's ``<title>``."""
        if title:
            self.title = title
            page_of(self.map).header.add_child(
                Element(f"<title>{escape(title)}</title>"), name="gridplan_page_title"
            )

    def script(self, code: str) -> None:
        """Run ``code`` (JavaScript) at this point of the map script: after the layers added
        so far, before those added later."""
        _Script(code).add_to(self.map)

    def follow(self, leader: Any, layer: Any) -> None:
        """Show ``layer`` (not in the layer control) exactly when ``leader`` is shown."""
        self.script(
            f"gridplan.follow({self.map.get_name()}, {leader.get_name()}, {layer.get_name()});"
        )

    def outline_above(
        self,
        leader: Any,
        shown: gpd.GeoDataFrame,
        keys: Sequence[str],
        styles: Mapping[str, dict[str, Any]],
        name: str,
    ) -> None:
        """The outlines of ``leader``'s areas again in the boundary pane (above grids and
        findings), styled by ``keys``, not interactive, shown exactly when ``leader`` is."""
        layer = geojson_layer(
            self,
            shown,
            pd.DataFrame({"_s": list(keys)}),
            name=name,
            styles=dict(styles),
            tooltip=None,
            popup=None,
            highlight=None,
            pane=PANE_BOUNDS,
            interactive=False,
            control=False,
            show=False,
        )
        layer.add_to(self.map)
        self.follow(leader, layer)

    def labels(
        self,
        leader: Any,
        items: Sequence[tuple[Any, ...]],
        *,
        class_name: str,
        min_zoom: int | None = None,
        zoom_offset: int = 0,
        fit: bool = False,
    ) -> None:
        """Permanent labels shown with ``leader``: ``(lat, lon, html, box)`` each, in priority
        order (a label is hidden where it would overlap an earlier one).

        Parameters
        ----------
        leader
            The layer the labels belong to (hidden with it).
        items
            Position, HTML text (escaped by the caller), ``[south, west, north, east]`` of
            the labelled area (or ``None``) and optionally other places ``[(lat, lon), …]``
            inside the area, tried in turn where the first one collides.
        class_name
            CSS class of these labels (``gp-community-label``, ``gp-grid-label``, …).
        min_zoom
            Shown from this zoom on; ``None``: from the opening view's zoom + ``zoom_offset``.
        fit
            Show a label only where it fits inside its area's box at the current zoom.
        """
        options = {
            "className": class_name,
            "minZoom": min_zoom,
            "zoomOffset": zoom_offset,
            "fit": fit,
        }
        data = [
            [
                round(a, 6),
                round(b, 6),
                text,
                _box(box),
                [[round(y, 6), round(x, 6)] for y, x in alts],
            ]
            for a, b, text, box, alts in (_item(it) for it in items)
        ]
        self.script(
            f"gridplan.labels({self.map.get_name()}, {leader.get_name()}, "
            f"{json.dumps(data, ensure_ascii=False)}, {json.dumps(options)});"
        )

    def finish(self) -> folium.Map:
        """Add the layer control and the side panel (title, tables, legend); return the map."""
        control = folium.LayerControl(collapsed=False, position="topright")
        control.add_to(self.map)
        self.script(f"gridplan.dock({control.get_name()}, 'gridplan-layers');")
        title = f'<div id="gridplan-title">{escape(self.title)}</div>' if self.title else ""
        legend = f'<div id="gridplan-legend">{"".join(self.legend)}</div>' if self.legend else ""
        body = (
            f'<div id="gridplan-panel">{title}{"".join(self.panel)}{legend}'
            '<div class="gp-sec"><b>Layers</b><div id="gridplan-layers"></div></div></div>'
        )
        page_of(self.map).html.add_child(Element(body), name="gridplan_panel")
        return self.map


def bounds_of(shown: gpd.GeoDataFrame) -> list[list[float] | None]:
    """``[south, west, north, east]`` of each display geometry (``None`` where empty)."""
    geoms = np.asarray(shown.geometry.values, dtype=object)
    boxes = shapely.bounds(geoms)
    out: list[list[float] | None] = []
    for minx, miny, maxx, maxy in boxes.tolist():
        out.append(None if np.isnan(minx) else [miny, minx, maxy, maxx])
    return out


def label_points(shown: gpd.GeoDataFrame) -> list[tuple[float, float] | None]:
    """Where to write each area's label, ``(lat, lon)``: the centre of its largest inscribed
    circle (well inside even a concave or L-shaped area; a point on the surface of a line or
    point; ``None`` where empty)."""
    out: list[tuple[float, float] | None] = []
    geoms = np.asarray(shown.geometry.values, dtype=object)
    for geom, places in zip(geoms, label_places(shown, 1), strict=True):
        if places:
            out.append(places[0])
        elif geom is None or shapely.is_empty(geom):
            out.append(None)
        else:
            pt = shapely.point_on_surface(geom)
            out.append((float(shapely.get_y(pt)), float(shapely.get_x(pt))))
    return out


def panel_bounds(box: Sequence[float] | None) -> str:
    """A ``data-bounds`` attribute value (``south,west,north,east``) for a panel row."""
    return "" if box is None else ",".join(f"{v:.6f}" for v in box)


@cache
def map_script() -> str:
    """gridplan's map script (``maps/static/gridplan-map.js``), safe to inline."""
    path = resources.files("gridplan.maps") / "static" / "gridplan-map.js"
    return path.read_text(encoding="utf-8").replace("</script", "<\\/script")


def _item(
    item: tuple[Any, ...],
) -> tuple[float, float, str, Sequence[float] | None, Sequence[tuple[float, float]]]:
    lat, lon, text, box = item[:4]
    alts = item[4] if len(item) > 4 else ()
    return float(lat), float(lon), str(text), box, alts


def label_places(shown: gpd.GeoDataFrame, count: int = 3) -> list[list[tuple[float, float]]]:
    """Up to ``count`` well-separated places to write each area's label, ``(lat, lon)``, best
    first: the centre of the largest inscribed circle, then that of what remains once the
    previous circle is cut out, and so on (empty for an empty area)."""
    out: list[list[tuple[float, float]]] = []
    for geom in np.asarray(shown.geometry.values, dtype=object):
        places: list[tuple[float, float]] = []
        rest = geom
        for _ in range(count):
            if rest is None or shapely.is_empty(rest):
                break
            part = rest
            if rest.geom_type in ("MultiPolygon", "GeometryCollection"):
                polys = [g for g in rest.geoms if g.geom_type == "Polygon"]
                if not polys:
                    break
                part = max(polys, key=lambda g: g.area)
            if part.geom_type != "Polygon":
                break
            size = max(part.bounds[2] - part.bounds[0], part.bounds[3] - part.bounds[1])
            circle = shapely.maximum_inscribed_circle(part, tolerance=size / 200.0 or 1e-9)
            centre = shapely.get_point(circle, 0)
            radius = float(shapely.length(circle))
            places.append((float(shapely.get_y(centre)), float(shapely.get_x(centre))))
            if radius <= 0:
                break
            rest = shapely.difference(part, shapely.buffer(centre, radius * 1.6))
        out.append(places)
    return out


def _box(box: Sequence[float] | None) -> list[float] | None:
    return None if box is None else [round(float(v), 6) for v in box]


class _Script(MacroElement):
    """A piece of JavaScript run in the map script, where it is added."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.code }}
        {% endmacro %}
        """
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "GridplanScript"
        self.code = code


def geojson_layer(
    canvas: MapCanvas,
    shown: gpd.GeoDataFrame,
    props: pd.DataFrame,
    *,
    name: str,
    styles: Mapping[str, Mapping[str, Any]],
    tooltip: tuple[list[str], list[str]] | None,
    popup: tuple[list[str], list[str]] | None,
    highlight: Mapping[str, Any] | None,
    show: bool = True,
    on_each_feature: str | None = None,
    pane: str | None = None,
    interactive: bool = True,
    control: bool = True,
) -> folium.GeoJson:
    """A GeoJson layer whose features carry only display strings and a style key ``_s``.

    Folium groups features by style (one JavaScript ``case`` per feature id, a style object per
    distinct style), so the page holds each style once. ``pane`` is one of :data:`PANES`;
    a non-interactive layer never takes the pointer; a layer without ``control`` is not listed
    in the layer control (see :meth:`MapCanvas.follow`).
    """
    frame = props.reset_index(drop=True).copy()
    if "_s" not in frame.columns:
        frame["_s"] = ""
    geoms = np.asarray(shown.geometry.values, dtype=object)
    # shapely writes GeoJSON for the whole array in C; parsing it back is faster than mapping()
    texts = shapely.to_geojson(geoms)
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": i,
                "properties": row,
                "geometry": json.loads(text) if text is not None else None,
            }
            for i, (row, text) in enumerate(
                zip(frame.to_dict(orient="records"), texts, strict=True)
            )
        ],
    }
    style_of: Callable[[dict[str, Any]], dict[str, Any]] = lambda f: dict(  # noqa: E731
        styles[f["properties"]["_s"]]
    )
    first_style = next(iter(styles.values()))
    extra: dict[str, Any] = {}
    if pane is not None:
        extra["pane"] = pane
    if not interactive:
        extra["interactive"] = False
    # points take their fill from their style (folium's marker default is no fill)
    marker = folium.CircleMarker(radius=float(first_style.get("radius", 6)), fill=True, **extra)
    has_points = bool(np.isin(shapely.get_type_id(np.asarray(shown.geometry.values)), (0, 4)).any())
    layer = folium.GeoJson(
        data,
        name=name,
        style_function=style_of,
        highlight_function=(lambda f: dict(highlight)) if highlight is not None else None,
        tooltip=(
            folium.GeoJsonTooltip(fields=tooltip[0], aliases=tooltip[1], sticky=True)
            if tooltip is not None
            else None
        ),
        popup=(
            folium.GeoJsonPopup(fields=popup[0], aliases=popup[1], localize=False, max_width=420)
            if popup is not None
            else None
        ),
        marker=marker if has_points else None,
        show=show,
        control=control,
        on_each_feature=JsCode(on_each_feature) if on_each_feature is not None else None,
        **extra,
    )
    return layer


def text_column(frame: pd.DataFrame, column: str, fallback: pd.Series | None = None) -> pd.Series:
    """HTML-escaped strings of a column (``–`` where missing)."""
    if column in frame.columns:
        values = frame[column].reset_index(drop=True)
    elif fallback is not None:
        values = fallback.reset_index(drop=True)
    else:
        return pd.Series([MISSING] * len(frame), dtype=object)
    if fallback is not None:
        values = values.where(values.notna(), fallback.reset_index(drop=True))
    return values.map(lambda v: MISSING if v is None or pd.isna(v) or v == "" else escape(str(v)))


def format_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def format_count(value: float) -> str:
    """A count (households, residents) as a whole number: ``1,598.6`` -> ``1,599``."""
    return f"{value:,.0f}"


def shade(colour: str, factor: float) -> str:
    """``colour`` (``#rrggbb``) darkened by ``factor`` (0..1).

    Examples
    --------
    >>> shade("#80b1d3", 0.5)
    '#405869'
    """
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{int(v * factor):02x}" for v in rgb)


def escape(text: str) -> str:
    return html_lib.escape(text, quote=True)


def legend_swatch(colour: str, label: str) -> str:
    return (
        f'<div class="gp-row"><span class="gp-sw" style="background:{colour}"></span>'
        f"{escape(label)}</div>"
    )


def legend_line(colour: str, weight: float, dash: str | None, label: str) -> str:
    style = "dashed" if dash else "solid"
    return (
        f'<div class="gp-row"><span class="gp-ln" style="border-top:{max(weight, 1):.0f}px '
        f'{style} {colour}"></span>{escape(label)}</div>'
    )


#: Font stack: Latin sans-serif, then the common CJK fonts of each platform.
_FONTS = (
    '"Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", '
    '"Source Han Sans SC", "WenQuanYi Zen Hei", sans-serif'
)

_PAGE_CSS = f"""<style>
html, body {{ margin: 0; }}
.folium-map {{ position: absolute !important; left: {PANEL_WIDTH_PX}px !important;
  top: 0 !important; width: calc(100% - {PANEL_WIDTH_PX}px) !important;
  height: 100% !important; }}
.leaflet-container {{ background: {BLANK_BACKGROUND}; font-family: {_FONTS}; }}
#gridplan-panel {{ position: fixed; top: 0; left: 0; bottom: 0; width: {PANEL_WIDTH_PX - 21}px;
  overflow-y: auto; background: #fff; border-right: 1px solid #ccc; padding: 8px 10px;
  font: 12px/1.35 {_FONTS}; color: #222; z-index: 1000; }}
#gridplan-title {{ font: bold 15px/1.35 {_FONTS}; margin: 0 0 6px; }}
#gridplan-panel .gp-sec {{ margin: 4px 0 8px; }}
#gridplan-panel .gp-row {{ display: flex; align-items: center; gap: 6px; }}
#gridplan-panel .gp-sw {{ display: inline-block; width: 14px; height: 12px; flex: none;
  border: 1px solid #555; }}
#gridplan-panel .gp-ln {{ display: inline-block; width: 22px; height: 0; flex: none; }}
#gridplan-panel table {{ border-collapse: collapse; width: 100%; font-size: 11.5px; }}
#gridplan-panel th {{ text-align: left; font-weight: 600; border-bottom: 1px solid #999;
  padding: 1px 3px; position: sticky; top: -8px; background: #fff; }}
#gridplan-panel td {{ padding: 1px 3px; border-bottom: 1px solid #eee; white-space: nowrap; }}
#gridplan-panel td.n, #gridplan-panel th.n {{ text-align: right; }}
#gridplan-panel tr[data-bounds] {{ cursor: pointer; }}
#gridplan-panel tr[data-bounds]:hover, #gridplan-panel tr.gp-selected {{ background: #fff3c4; }}
#gridplan-panel .gp-tbl {{ max-height: 42vh; overflow-y: auto; }}
#gridplan-panel .gp-note {{ color: #555; margin: 2px 0; }}
#gridplan-layers .leaflet-control-layers {{ float: none; margin: 0; box-shadow: none;
  border: none; padding: 0; }}
#gridplan-layers .leaflet-control-layers-expanded {{ padding: 0; }}
.gp-dot {{ display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  vertical-align: -1px; margin-right: 4px; border: 1px solid rgba(0,0,0,.35); }}
.gp-badge {{ display: inline-block; min-width: 9px; padding: 0 3px; border-radius: 3px;
  color: #fff; font-weight: bold; text-align: center; line-height: 1.25; text-shadow: none; }}
.gp-b-in {{ background: #1a7a37; }} .gp-b-under {{ background: #2166ac; }}
.gp-b-over {{ background: #c2161b; }} .gp-b-unknown {{ background: #777; }}
.gp-c-unchanged {{ background: #969696; }} .gp-c-changed {{ background: #252525; }}
.gp-c-new {{ background: #238b45; }} .gp-c-removed {{ background: #de2d26; }}
.gp-label {{ pointer-events: none; }}
.gp-label .gp-lt {{ position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  text-align: center; color: #111; font-family: {_FONTS};
  text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff, 0 0 4px #fff; }}
.gp-community-label .gp-lt {{ font-size: 13px; line-height: 1.2; }}
.gp-community-label .gp-lt b {{ font-size: 14px; }}
.gp-grid-label .gp-lt {{ font-size: 10px; line-height: 1.1; color: #333; }}
.gp-move-label .gp-lt, .gp-removed-label .gp-lt, .gp-compound-label .gp-lt {{
  background: rgba(255,255,255,.85); border-radius: 3px; padding: 0 3px; text-shadow: none; }}
.gp-move-label .gp-lt {{ font-size: 11px; color: #3f007d; border: 1px solid #6a3d9a; }}
.gp-compound-label .gp-lt {{ font-size: 10px; color: #08306b; border: 1px solid #08519c;
  transform: translate(-50%, 40%); }}
.gp-removed-label .gp-lt {{ font-size: 12px; color: #a50f15; border: 1px dashed #de2d26;
  transform: translate(-50%, 90%); }}
.gp-before-label .gp-lt {{ font-size: 11px; color: #555; font-style: italic; }}
.gp-label.gp-off {{ display: none; }}
.gp-label.gp-hidden {{ visibility: hidden; }}
</style>"""
