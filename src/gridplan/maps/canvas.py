"""The page every gridplan map is drawn on: :class:`MapCanvas` and its drawing helpers.

A canvas is a folium map made self-contained (Leaflet inlined, see
:mod:`gridplan.maps.tiles`) with an optional base map, a title, a legend and a layer control.
It converts every drawn geometry for display (simplified, EPSG:4326, or GCJ-02 for Chinese
tiles). :func:`geojson_layer` adds one GeoJSON layer whose features carry only display strings
and a style key, so the page holds each distinct style once.
"""

from __future__ import annotations

import html as html_lib
import json
from collections.abc import Callable, Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element
from folium.utilities import JsCode

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
        extent = self.display(bounds_source, tolerance_m=0.0)
        minx, miny, maxx, maxy = (float(v) for v in extent.total_bounds)
        self.map = folium.Map(
            location=[(miny + maxy) / 2.0, (minx + maxx) / 2.0],
            zoom_start=13,
            tiles=None,
            control_scale=True,
            prefer_canvas=prefer_canvas,
            attribution_control=self.tiles != Tiles.NONE,
        )
        make_self_contained(self.map)
        add_tiles(self.map, self.tiles)
        self.map.fit_bounds([[miny, minx], [maxy, maxx]])
        page_of(self.map).header.add_child(Element(_PAGE_CSS), name="gridplan_css")

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
        """Show ``title`` at the top of the map and as the page's ``<title>``."""
        if title:
            page = page_of(self.map)
            page.html.add_child(
                Element(f'<div id="gridplan-title">{escape(title)}</div>'), name="gridplan_title"
            )
            page.header.add_child(
                Element(f"<title>{escape(title)}</title>"), name="gridplan_page_title"
            )

    def finish(self) -> folium.Map:
        """Add the layer control and the legend; return the map."""
        folium.LayerControl(collapsed=False, position="topright").add_to(self.map)
        if self.legend:
            body = "".join(self.legend)
            page_of(self.map).html.add_child(
                Element(f'<div id="gridplan-legend">{body}</div>'), name="gridplan_legend"
            )
        return self.map


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
) -> folium.GeoJson:
    """A GeoJson layer whose features carry only display strings and a style key ``_s``.

    Folium groups features by style (one JavaScript ``case`` per feature id, a style object per
    distinct style), so the page holds each style once.
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
    marker = folium.CircleMarker(radius=float(first_style.get("radius", 6)))
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
        on_each_feature=JsCode(on_each_feature) if on_each_feature is not None else None,
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
.leaflet-container {{ background: {BLANK_BACKGROUND}; font-family: {_FONTS}; }}
#gridplan-title {{ position: fixed; top: 10px; left: 60px; z-index: 1000; background: #fff;
  padding: 4px 10px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3);
  font: bold 15px/1.4 {_FONTS}; }}
#gridplan-legend {{ position: fixed; bottom: 56px; left: 10px; z-index: 1000; background: #fff;
  padding: 6px 10px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3);
  font: 12px/1.35 {_FONTS}; max-height: 60%; overflow-y: auto; max-width: 320px; }}
#gridplan-legend .gp-sec {{ margin: 3px 0 5px; }}
#gridplan-legend .gp-row {{ display: flex; align-items: center; gap: 6px; }}
#gridplan-legend .gp-sw {{ display: inline-block; width: 14px; height: 12px;
  border: 1px solid #555; opacity: .8; }}
#gridplan-legend .gp-ln {{ display: inline-block; width: 22px; height: 0; }}
.gp-hide-labels .leaflet-tooltip.gp-label {{ display: none; }}
.leaflet-tooltip.gp-label {{ background: rgba(255,255,255,.75); border: none;
  box-shadow: none; padding: 0 2px; font: 10px/1.1 {_FONTS}; color: #222; }}
</style>"""
