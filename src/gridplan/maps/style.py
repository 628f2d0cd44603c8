"""Colours and line styles of planner maps.

Communities are coloured by their band status (:class:`BandStatus`); roads by class (most
important classes widest and darkest); every finding rule gets one distinct style, declared
with the rule in :mod:`gridplan.geo.rules.registry`, so an off-road boundary stretch never
looks like an exclave part. Compounds take the colour of their community from a qualitative
palette, chosen so neighbouring communities differ.

Styles are plain dicts of Leaflet path options (``color``, ``weight``, ``fillColor``, …), ready
to be embedded in the map.
"""

from __future__ import annotations

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


#: Fill colours by band status (ColorBrewer RdYlBu-like, readable for colour-blind users).
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

#: Qualitative palette for communities (ColorBrewer Set3 + Dark2 mix, 12 colours).
COMMUNITY_PALETTE: tuple[str, ...] = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#1f78b4",
    "#b2df8a",
    "#fb9a99",
    "#cab2d6",
    "#80b1d3",
)

_ROAD_WIDTH = {
    "motorway": 5.0,
    "trunk": 4.5,
    "primary": 4.0,
    "secondary": 3.5,
    "tertiary": 3.0,
    "local": 2.0,
    "service": 1.5,
    "path": 1.0,
    "other": 1.0,
}
_ROAD_COLOUR = {
    "motorway": "#8c2d04",
    "trunk": "#cc4c02",
    "primary": "#ec7014",
    "secondary": "#fe9929",
    "tertiary": "#b8860b",
    "local": "#555555",
    "service": "#888888",
    "path": "#aaaaaa",
    "other": "#aaaaaa",
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


def status_style(status: str) -> dict[str, Any]:
    """Leaflet style of a community with the given band status."""
    colour = STATUS_COLOURS.get(BandStatus(status), STATUS_COLOURS[BandStatus.UNKNOWN])
    return {
        "color": "#333333",
        "weight": 1.5,
        "fillColor": colour,
        "fillOpacity": 0.35,
    }


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


def community_colours(communities: gpd.GeoDataFrame, id_column: str = "area_id") -> dict[str, str]:
    """Give each community a palette colour so that neighbours differ where possible.

    Communities touching each other are coloured greedily (largest degree first) on their
    adjacency graph; with more neighbours than palette colours, colours repeat.

    Parameters
    ----------
    communities
        Polygons with an id column.
    id_column
        The id column.

    Returns
    -------
    dict
        Community id -> hex colour.
    """
    ids = communities[id_column].astype(str).to_numpy()
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(range(len(ids)))
    geoms = np.asarray(communities.geometry.values, dtype=object)
    if len(geoms):
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        keep = left < right
        graph.add_edges_from(zip(left[keep].tolist(), right[keep].tolist(), strict=True))
    colouring = nx.greedy_color(graph, strategy="largest_first")
    n = len(COMMUNITY_PALETTE)
    return {str(ids[i]): COMMUNITY_PALETTE[colouring.get(i, 0) % n] for i in range(len(ids))}


def colour_series(keys: pd.Series, colours: Mapping[str, str], default: str) -> pd.Series:
    """Map keys to colours, with ``default`` for missing keys."""
    return keys.map(lambda k: colours.get(str(k), default) if k is not None else default)


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
