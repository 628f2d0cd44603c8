"""One store, one place: refuse layers that lie far from what a store already holds.

A store holds one district (DESIGN.md, "Storage"): one or more of its subdistricts, whose
layers may be imported one after the other (a district's subdistricts lie well within
``MAX_DISTANCE_M`` of each other), and whose plans put communities into subdistricts
(:mod:`gridplan.geo.hierarchy`). Roads of Florida imported into a store of
central Helsinki would not fail anywhere at once: they would make blocks nobody asked for,
plans over two continents and maps zoomed out to the whole world. :func:`require_same_place`
refuses them before anything is written, with one line naming both places by their
longitude/latitude extent and the distance between them.

What the store holds is the extent of each of its non-empty layers (``outline``, ``roads``,
``buildings``, ``compounds``, ``facilities``, ``units``) and of its latest plan's areas. The
new layers are "the same place" when no held extent lies more than ``max_distance_m`` away
from theirs (the distance between the two boxes, 0 when they overlap).

With ``replace`` the layer kinds being imported are replaced, so their stored extents do not
count: importing a new city's roads with ``replace`` into a store holding only roads is
allowed; into a store that also holds buildings (or plans) of the old city it is still
refused, since the store would then hold two places. Plans are never deleted (they are
append-only), so a store with plans of one place takes no layers of another: use a new store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import InputError, NotFoundError

#: How far (metres) new layers may lie from a store's own before they are another place.
MAX_DISTANCE_M = 50_000.0

#: The layer kinds a store holds and :func:`store_extents` reads.
STORE_LAYERS: tuple[LayerKind, ...] = (
    LayerKind.OUTLINE,
    LayerKind.ROADS,
    LayerKind.BUILDINGS,
    LayerKind.COMPOUNDS,
    LayerKind.FACILITIES,
    LayerKind.UNITS,
)

#: The key of the latest plan's areas in :func:`store_extents`.
PLANS = "plans"

_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Extent:
    """A longitude/latitude box (EPSG:4326 degrees).

    Examples
    --------
    >>> helsinki = Extent(24.935, 60.164, 24.953, 60.179)
    >>> str(helsinki)
    'lon 24.935..24.953, lat 60.164..60.179'
    >>> round(helsinki.distance_m(Extent(24.96, 60.164, 24.97, 60.179)))
    387
    >>> helsinki.distance_m(helsinki)
    0.0
    """

    minx: float
    miny: float
    maxx: float
    maxy: float

    def __str__(self) -> str:
        return f"lon {self.minx:.3f}..{self.maxx:.3f}, lat {self.miny:.3f}..{self.maxy:.3f}"

    def union(self, other: Extent) -> Extent:
        """The box holding both."""
        return Extent(
            min(self.minx, other.minx),
            min(self.miny, other.miny),
            max(self.maxx, other.maxx),
            max(self.maxy, other.maxy),
        )

    def distance_m(self, other: Extent) -> float:
        """The great-circle distance between the nearest points of two boxes (0 if they meet).

        The boxes' nearest latitudes are taken where their latitude ranges overlap, at the
        overlap's end nearest a pole (where longitude degrees are shortest), so the distance is
        never overstated.
        """
        lat_a, lat_b = _nearest(self.miny, self.maxy, other.miny, other.maxy, poleward=True)
        lon_a, lon_b = _nearest(self.minx, self.maxx, other.minx, other.maxx, poleward=False)
        return _haversine(lon_a, lat_a, lon_b, lat_b)


def layer_extent(gdf: gpd.GeoDataFrame) -> Extent | None:
    """The longitude/latitude extent of a layer (any CRS); ``None`` if it has no geometry.

    Raises
    ------
    InputError
        If the layer has features but no CRS.
    """
    geoms = gdf.geometry
    present = geoms[geoms.notna() & ~geoms.is_empty]
    if not len(present):
        return None
    if gdf.crs is None:
        raise InputError("the layer has no CRS; set one (e.g. EPSG:4326) and retry")
    wgs = present if present.crs.to_epsg() == 4326 else present.to_crs(4326)
    minx, miny, maxx, maxy = (float(v) for v in wgs.total_bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return None
    return Extent(minx, miny, maxx, maxy)


def store_extents(store: Store) -> dict[str, Extent]:
    """The extent of each non-empty layer of ``store`` and of its latest plan's areas.

    Returns
    -------
    dict
        Layer kind value (``"roads"``, …) or :data:`PLANS` → extent.
    """
    found: dict[str, Extent] = {}
    for kind in STORE_LAYERS:
        if not store.count(kind):
            continue
        extent = layer_extent(store.read_layer(kind))
        if extent is not None:
            found[kind.value] = extent
    if store.latest_plan_id() is not None:
        try:
            areas = store.load_plan().areas
        except NotFoundError:
            areas = None
        extent = layer_extent(areas) if areas is not None and len(areas) else None
        if extent is not None:
            found[PLANS] = extent
    return found


def require_same_place(
    store: Store,
    layers: Mapping[LayerKind, gpd.GeoDataFrame] | Mapping[str, gpd.GeoDataFrame],
    *,
    source: str,
    replace: bool = False,
    max_distance_m: float = MAX_DISTANCE_M,
) -> None:
    """Refuse ``layers`` if they lie more than ``max_distance_m`` from what ``store`` holds.

    Parameters
    ----------
    store
        The store about to take the layers.
    layers
        The new layers by kind (any CRS); ``areas`` (a drawn plan) count like any layer.
    source
        What the layers come from (a file name), for the message.
    replace
        The layers replace the stored layers of the same kinds: those do not count.
    max_distance_m
        The largest distance between the new extent and a held one.

    Raises
    ------
    InputError
        One line naming the new layers' extent, the store's, the distance and what to do:
        a new store (``--db other.gpkg``), or ``--replace`` when replacing the imported kinds
        would leave nothing of the other place.

    Examples
    --------
    >>> from gridplan.data.store import open_store
    >>> with open_store("helsinki.gpkg") as store:  # doctest: +SKIP
    ...     require_same_place(store, {"roads": florida_roads}, source="tallahassee.gpkg")
    Traceback (most recent call last):
    ...
    gridplan.errors.InputError: tallahassee.gpkg (roads; lon -84.3..) is 7,960 km from …
    """
    new: Extent | None = None
    kinds: list[str] = []
    for kind, gdf in layers.items():
        extent = layer_extent(gdf) if len(gdf) else None
        if extent is None:
            continue
        kinds.append(str(LayerKind(kind).value))
        new = extent if new is None else new.union(extent)
    if new is None:
        return
    held = store_extents(store)
    replaced = {str(LayerKind(k).value) for k in layers} if replace else set()
    far = {
        kind: extent
        for kind, extent in held.items()
        if kind not in replaced and extent.distance_m(new) > max_distance_m
    }
    if not far:
        return
    there: Extent | None = None
    for extent in far.values():
        there = extent if there is None else there.union(extent)
    assert there is not None
    distance = new.distance_m(there)
    names = ", ".join(far)
    head = (
        f"{source} ({', '.join(kinds)}; {new}) is {_km(distance)} from what the store holds "
        f"({names}; {there}): one store holds one place"
    )
    new_store = "import into a new store (--db other.gpkg)"
    stay = ", ".join(k for k in far if k not in kinds)
    if replace:
        raise InputError(f"{head}; --replace keeps the store's {stay}: {new_store}")
    if not stay and LayerKind.AREAS.value not in kinds:
        raise InputError(f"{head}; {new_store}, or add --replace to replace the store's {names}")
    if LayerKind.AREAS.value in kinds:
        raise InputError(f"{head}; {new_store}")
    raise InputError(f"{head}; {new_store} (--replace would keep the store's {stay})")


def _nearest(a0: float, a1: float, b0: float, b1: float, *, poleward: bool) -> tuple[float, float]:
    """The nearest values of two ranges: equal (inside their overlap) when they overlap."""
    if a1 < b0:
        return a1, b0
    if b1 < a0:
        return a0, b1
    lo, hi = max(a0, b0), min(a1, b1)
    value = (hi if abs(hi) >= abs(lo) else lo) if poleward else lo
    return value, value


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(2 * _EARTH_RADIUS_M * np.arcsin(min(1.0, float(np.sqrt(h)))))


def _km(metres: float) -> str:
    return f"{metres / 1000:,.0f} km" if metres >= 10_000 else f"{metres / 1000:,.1f} km"
