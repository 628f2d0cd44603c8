"""A hand-drawn river town for the reach tests (EPSG:32650, metres from X0, Y0)::

      y
     300  B======== north street =========N      N: compound, 300 households (550, 300)
          ‖
          ‖ bridge        r i v e r           (no other crossing)
          ‖
       0  +======== south street ====S====F      F: service centre (550, 0)
          0                         350  550     S: compound, 200 households (350, 0)

N is 300 m from F as the crow flies but 550 + 300 + 550 = 1,400 m on foot by the bridge;
S is 200 m away. The community A (河畔社区) holds everything: 500 households, 200 (40 %)
within a 500 m (10-minute) walk of its centre.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650


def pt(x: float, y: float) -> shapely.Point:
    """A point of the town."""
    return shapely.Point(X0 + x, Y0 + y)


def line(*points: tuple[float, float]) -> shapely.LineString:
    """A line of the town."""
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in points])


def paths() -> gpd.GeoDataFrame:
    """The two streets and the bridge."""
    return gpd.GeoDataFrame(
        {
            "path_id": ["south", "north", "bridge"],
            "path_class": ["residential", "residential", "footway"],
            "bridge": [None, None, "yes"],
        },
        geometry=[line((0, 0), (550, 0)), line((0, 300), (550, 300)), line((0, 0), (0, 300))],
        crs=CRS,
    )


def facilities() -> gpd.GeoDataFrame:
    """The community service centre F."""
    return gpd.GeoDataFrame(
        {"facility_id": ["F"], "kind": ["community_centre"], "name": ["河畔社区服务中心"]},
        geometry=[pt(550, 0)],
        crs=CRS,
    )


def compounds() -> gpd.GeoDataFrame:
    """N across the river, S on the centre's bank."""
    return gpd.GeoDataFrame(
        {
            "compound_id": ["N", "S"],
            "name": ["北岸小区", "南岸小区"],
            "households": [300.0, 200.0],
        },
        geometry=[pt(550, 300), pt(350, 0)],
        crs=CRS,
    )


def areas() -> gpd.GeoDataFrame:
    """The one community A."""
    return gpd.GeoDataFrame(
        {"area_id": ["A"], "name": ["河畔社区"], "households": [500.0]},
        geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 600, Y0 + 350)],
        crs=CRS,
    )


def write_files(folder: Path) -> dict[str, Path]:
    """The town's layers as GeoJSON files (EPSG:32650), by layer name."""
    out = {}
    for name, frame in (
        ("paths", paths()),
        ("facilities", facilities()),
        ("compounds", compounds()),
        ("areas", areas()),
    ):
        out[name] = folder / f"{name}.geojson"
        frame.to_file(out[name])
    return out


def load_store(store: object, folder: Path) -> dict[str, Path]:
    """Import the town into ``store``: its layers and community A as drawn plan 1."""
    from gridplan.data.importer import import_file

    files = write_files(folder)
    for kind in ("paths", "facilities", "compounds", "areas"):
        import_file(store, files[kind], kind)  # type: ignore[arg-type]
    return files
