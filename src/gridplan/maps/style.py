"""Colours and line styles of planner maps.

Each community gets its own fill colour from :data:`COMMUNITY_PALETTE`, chosen by colouring
the community adjacency graph (DSATUR) so that touching communities always differ; its band
status (:class:`BandStatus`) is shown by its outline (:func:`status_style`) and by a badge
(:data:`STATUS_BADGES`) in its label. Roads are drawn muted by class (most important classes
widest) so they never compete with boundaries; every finding rule gets one distinct style,
declared with the rule in :mod:`gridplan.geo.rules.registry` and thinned for display
(:func:`finding_display_style`), so an off-road boundary stretch never looks like an exclave part.

Styles are plain dicts of Leaflet path options (``color``, ``weight``, ``fillColor``, …), ready
to be embedded in the map.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.data.crs import metric_crs
from gridplan.data.layers import ROAD_CLASSES
from gridplan.errors import InputError
from gridplan.geo.rules.registry import REGISTRY


class BandStatus(StrEnum):
    """Where an area's size lies relative to its band."""

    UNDER = "under"
    IN = "in"
    OVER = "over"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Band:
    """The size band of one level, e.g. 1000–3000 households per community.

    Parameters
    ----------
    lo, hi
        Inclusive bounds.
    field
        The column measured: ``households`` or ``residents``.
    """

    lo: float
    hi: float
    field: str = "households"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lo) and np.isfinite(self.hi)) or self.lo > self.hi:
            raise InputError(f"band [{self.lo}, {self.hi}] is not a range")

    def label(self) -> str:
        """Human-readable band, e.g. ``1,000–3,000 households``."""
        return f"{_num(self.lo)}–{_num(self.hi)} {self.field}"


#: Colours of band status (outlines, badges; ColorBrewer RdYlBu-like, readable for
#: colour-blind users).
STATUS_COLOURS: Mapping[BandStatus, str] = {
    BandStatus.UNDER: "#4575b4",
    BandStatus.IN: "#1a9850",
    BandStatus.OVER: "#d73027",
    BandStatus.UNKNOWN: "#999999",
}

#: Legend text per band status.
STATUS_LABELS: Mapping[BandStatus, str] = {
    BandStatus.UNDER: "under the band",
    BandStatus.IN: "in the band",
    BandStatus.OVER: "over the band",
    BandStatus.UNKNOWN: "no count",
}

#: Badge of each band status in labels and the panel.
STATUS_BADGES: Mapping[BandStatus, str] = {
    BandStatus.UNDER: "↓",
    BandStatus.IN: "✓",
    BandStatus.OVER: "↑",
    BandStatus.UNKNOWN: "?",
}

#: Outline of a community by band status: colour, weight, dash (legend and map alike).
_STATUS_OUTLINE: Mapping[BandStatus, tuple[str, float, str | None]] = {
    BandStatus.IN: ("#252525", 2.0, None),
    BandStatus.UNDER: ("#2166ac", 3.5, "9 5"),
    BandStatus.OVER: ("#c2161b", 4.0, None),
    BandStatus.UNKNOWN: ("#525252", 2.0, "2 4"),
}

#: Community fill colours: light qualitative colours (ColorBrewer Set3/Paired family) that
#: differ clearly from one another, under which dark label text and the status outlines stay
#: readable. The first colours are the most distinct: a planar map rarely needs more than five.
COMMUNITY_PALETTE: tuple[str, ...] = (
    "#8dd3c7",
    "#fdb462",
    "#bebada",
    "#b3de69",
    "#fccde5",
    "#80b1d3",
    "#ffed6f",
    "#fb8072",
    "#bc80bd",
    "#ccebc5",
    "#d9b38c",
    "#a6cee3",
)

#: Fill opacity of community colours.
COMMUNITY_FILL_OPACITY = 0.55

_ROAD_WIDTH = {
    "motorway": 3.5,
    "trunk": 3.0,
    "primary": 2.6,
    "secondary": 2.2,
    "tertiary": 1.8,
    "local": 1.2,
    "service": 0.9,
    "path": 0.7,
    "other": 0.7,
}
_ROAD_COLOUR = {
    "motorway": "#a0522d",
    "trunk": "#b5653a",
    "primary": "#c8864f",
    "secondary": "#cfa173",
    "tertiary": "#bfae8f",
    "local": "#9a9a9a",
    "service": "#b4b4b4",
    "path": "#c8c8c8",
    "other": "#c8c8c8",
}


class _FindingStyles(Mapping[str, Mapping[str, Any]]):
    """The style of each registered rule (a copy), read from the registry whenever it is used."""

    def __getitem__(self, rule: str) -> Mapping[str, Any]:
        return dict(REGISTRY[rule].style)

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)


#: One distinct style per finding rule, as each rule declares it in
#: :data:`gridplan.geo.rules.registry.REGISTRY` (see DESIGN.md "Rule ids").
FINDING_STYLES: Mapping[str, Mapping[str, Any]] = _FindingStyles()
#: The style of findings of a rule that is not registered.
_DEFAULT_FINDING_STYLE: Mapping[str, Any] = {
    "color": "#ff6f00",
    "weight": 3,
    "fillColor": "#ff6f00",
    "fillOpacity": 0.4,
}


def band_status(values: npt.ArrayLike, band: Band | None) -> npt.NDArray[np.str_]:
    """Classify sizes against a band.

    Parameters
    ----------
    values
        Households (or residents) per area; NaN means unknown.
    band
        The band; ``None`` makes every status ``unknown``.

    Returns
    -------
    numpy.ndarray
        One :class:`BandStatus` value (as ``str``) per area.

    Examples
    --------
    >>> band_status([500, 1000, 3000, 3001, float("nan")], Band(1000, 3000)).tolist()
    ['under', 'in', 'in', 'over', 'unknown']
    """
    x = np.asarray(values, dtype=float)
    out = np.full(x.shape, BandStatus.UNKNOWN.value, dtype=object)
    if band is None:
        return out.astype(str)
    known = ~np.isnan(x)
    out[known & (x < band.lo)] = BandStatus.UNDER.value
    out[known & (x > band.hi)] = BandStatus.OVER.value
    out[known & (x >= band.lo) & (x <= band.hi)] = BandStatus.IN.value
    return out.astype(str)


def status_style(status: str, fill: str | None = None) -> dict[str, Any]:
    """Leaflet style of a community with the given band status.

    The outline shows the status (dark and thin in the band, dashed blue under it, thick red
    over it); the fill is the community's own colour (``fill``), status-coloured when none is
    given.

    Examples
    --------
    >>> status_style("over", "#8dd3c7")["color"], status_style("over")["weight"]
    ('#c2161b', 4.0)
    """
    key = BandStatus(status)
    colour, weight, dash = _STATUS_OUTLINE[key]
    style: dict[str, Any] = {
        "color": colour,
        "weight": weight,
        "opacity": 1.0,
        "fillColor": fill if fill is not None else STATUS_COLOURS[key],
        "fillOpacity": COMMUNITY_FILL_OPACITY if fill is not None else 0.35,
    }
    if dash is not None:
        style["dashArray"] = dash
    return style


def status_outline(status: str) -> tuple[str, float, str | None]:
    """``(colour, weight, dash)`` of the outline of a community with ``status``."""
    return _STATUS_OUTLINE[BandStatus(status)]


def road_style(road_class: str | None) -> dict[str, Any]:
    """Leaflet style of a road of the given class (unknown classes draw as ``other``)."""
    cls = road_class if road_class in _ROAD_WIDTH else "other"
    return {"color": _ROAD_COLOUR[cls], "weight": _ROAD_WIDTH[cls], "opacity": 0.85}


def road_classes_present(classes: Sequence[str | None]) -> list[str]:
    """The road classes in ``classes``, most important first (unknown ones as ``other``)."""
    seen = {c if c in _ROAD_WIDTH else "other" for c in classes}
    return [c for c in ROAD_CLASSES if c in seen]


def finding_style(rule: str) -> dict[str, Any]:
    """Leaflet style of a finding of ``rule``: the registered rule's own (a distinct one per
    rule), a default style for a rule that is not registered.

    Examples
    --------
    >>> finding_style("roads.off_road")["dashArray"]
    '8 6'
    """
    spec = REGISTRY.get(rule)
    return dict(spec.style if spec is not None else _DEFAULT_FINDING_STYLE)


def finding_label(rule: str) -> str:
    """Short legend text of ``rule`` as the rule declares it (the id itself when unknown).

    Examples
    --------
    >>> finding_label("coverage.gap")
    'gap covered by no area'
    """
    spec = REGISTRY.get(rule)
    return spec.label if spec is not None else rule


def finding_display_style(rule: str, *, line: bool = False) -> dict[str, Any]:
    """The style a finding of ``rule`` is drawn with on a planner map, under the boundaries
    so that it never hides one: the rule's own colour and dash, thin (at most 2.5 px) and
    lightly filled; a ``line`` finding (an off-road boundary stretch) is a wide translucent
    band that glows on both sides of the boundary drawn over it.

    Examples
    --------
    >>> s = finding_display_style("coverage.gap")
    >>> s["weight"] <= 2.5 and s["fillOpacity"] <= 0.25
    True
    >>> finding_display_style("roads.off_road", line=True)["weight"]
    7.0
    """
    style = finding_style(rule)
    if line:
        style.pop("dashArray", None)
        style.update({"weight": 7.0, "opacity": 0.4, "lineCap": "butt"})
        return style
    style["weight"] = min(float(style.get("weight", 2.0)), 2.5)
    style["fillOpacity"] = min(float(style.get("fillOpacity", 0.0)), 0.25)
    style["opacity"] = 0.9
    return style


def community_adjacency(
    communities: gpd.GeoDataFrame, id_column: str = "area_id", tolerance_m: float = 1.0
) -> nx.Graph:
    """The adjacency graph of communities: an edge between two that touch, overlap or lie
    within ``tolerance_m`` metres of each other (a sliver of gap still makes neighbours).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> three = gpd.GeoDataFrame({"area_id": ["a", "b", "c"]},
    ...     geometry=[box(0, 0, 10, 10), box(10.5, 0, 20, 10), box(40, 0, 50, 10)], crs=32650)
    >>> sorted(community_adjacency(three).edges())
    [('a', 'b')]
    """
    ids = communities[id_column].astype(str).tolist()
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(ids)
    if not ids:
        return graph
    frame = communities[[communities.geometry.name]]
    if frame.crs is not None and not frame.crs.is_projected:
        frame = frame.to_crs(metric_crs(frame, "communities"))
    geoms = np.asarray(frame.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = left < right
    graph.add_edges_from(
        (ids[a], ids[b])
        for a, b in zip(left[keep].tolist(), right[keep].tolist(), strict=True)
        if ids[a] != ids[b]
    )
    return graph


def community_colours(communities: gpd.GeoDataFrame, id_column: str = "area_id") -> dict[str, str]:
    """Give each community a fill colour; communities that touch always differ.

    The adjacency graph (:func:`community_adjacency`) is coloured with DSATUR
    (:func:`networkx.greedy_color`); where the palette has colours enough, its square is
    coloured instead, so that two communities with a common neighbour differ as well. Colour
    ``k`` is ``COMMUNITY_PALETTE[k]``. Should a graph
    need more colours than the palette holds, further distinct colours are generated, so
    neighbours never share one.

    Parameters
    ----------
    communities
        Polygons with an id column (any CRS).
    id_column
        The id column.

    Returns
    -------
    dict
        Community id -> hex colour.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> row = gpd.GeoDataFrame({"area_id": ["a", "b", "c"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs=32650)
    >>> c = community_colours(row)
    >>> c["a"] != c["b"] != c["c"]
    True
    """
    graph = community_adjacency(communities, id_column)
    colouring = nx.greedy_color(graph, strategy="DSATUR")
    # Communities that share a neighbour differ too when the palette allows it: the map then
    # reads better than with the four or five colours a plain colouring needs.
    wider = nx.greedy_color(nx.power(graph, 2), strategy="DSATUR") if len(graph) > 1 else {}
    if wider and max(wider.values()) < len(COMMUNITY_PALETTE):
        colouring = wider
    return {node: palette_colour(k) for node, k in colouring.items()}


def palette_colour(index: int) -> str:
    """Colour number ``index``: the palette's, then generated ones (golden-angle hues).

    Examples
    --------
    >>> palette_colour(0), palette_colour(12) != palette_colour(13)
    ('#8dd3c7', True)
    """
    if index < len(COMMUNITY_PALETTE):
        return COMMUNITY_PALETTE[index]
    hue = ((index - len(COMMUNITY_PALETTE)) * 137.508) % 360.0
    red, green, blue = colorsys.hls_to_rgb(hue / 360.0, 0.75, 0.55)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def colour_series(keys: pd.Series, colours: Mapping[str, str], default: str) -> pd.Series:
    """Map keys to colours, with ``default`` for missing keys."""
    return keys.map(lambda k: colours.get(str(k), default) if k is not None else default)


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
