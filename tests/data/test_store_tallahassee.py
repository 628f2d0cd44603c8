"""Real data: the 567 TIGER roads of Tallahassee (EPSG:2779) in both stores.

TIGER's ``TLID`` is not unique in this file: tigernet split line 633855088 into three
segments. ``SegID`` is the unique segment id, so it is the road id; ``TLID`` stays as an
extra column. Imported with ``TLID`` as the id, both stores refuse the layer naming the
repeated id and load nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from gridplan.data.layers import LayerKind, normalise, validate
from gridplan.data.store.base import Store
from gridplan.errors import InputError

pytestmark = [pytest.mark.realdata, pytest.mark.postgis]


def test_tallahassee_roads_identical_in_both_stores(
    shared_data: Path, gpkg_store: Store, postgis_store: Store
) -> None:
    raw = pyogrio.read_dataframe(shared_data / "tallahassee" / "tallahassee.gpkg", layer="roads")
    assert raw.crs.to_epsg() == 2779
    by_tlid = normalise("roads", raw, fields={"road_id": "TLID", "name": "FULLNAME"})
    for store in (gpkg_store, postgis_store):
        with pytest.raises(InputError, match="duplicate road_id '633855088'"):
            store.import_layers({LayerKind.ROADS: by_tlid})
        assert store.count(LayerKind.ROADS) == 0 and store.read_imports() == []
    roads = normalise("roads", raw, fields={"road_id": "SegID", "name": "FULLNAME"})
    valid, problems = validate("roads", roads)
    assert problems == [] and len(valid) == 567
    expected = valid.to_crs(4326)
    frames = []
    for store in (gpkg_store, postgis_store):
        result = store.import_layers({LayerKind.ROADS: valid}, source="tallahassee.gpkg")
        assert result.loaded == {"roads": 567}
        assert store.count(LayerKind.ROADS) == 567
        frames.append(store.read_layer(LayerKind.ROADS))
    g, p = frames
    assert g["road_id"].tolist() == p["road_id"].tolist()
    assert g["road_id"].is_unique and set(g["road_id"]) == set(expected["road_id"])
    assert list(g.columns) == list(p.columns)
    for col in g.columns.drop("geometry"):
        left = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in g[col]]
        right = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in p[col]]
        assert left == right, col
    assert shapely.equals_exact(
        np.asarray(g.geometry.values), np.asarray(p.geometry.values), tolerance=1e-9
    ).all()
    # the stored geometries are the input reprojected to EPSG:4326
    ordered = expected.set_index("road_id").loc[g["road_id"]]
    assert shapely.equals_exact(
        np.asarray(g.geometry.values), np.asarray(ordered.geometry.values), tolerance=1e-9
    ).all()
    # extra TIGER columns are kept (MTFCC carries the road class)
    assert g["MTFCC"].value_counts().to_dict() == {
        "S1400": 464,
        "S1200": 94,
        "S1630": 6,
        "S1100": 3,
    }
    assert g["name"].tolist() == [None if isinstance(v, float) else v for v in ordered["name"]]
    assert g["TLID"].dtype == np.int64 and (g["TLID"] == 633855088).sum() == 3
    # a bbox read over the middle of the network agrees between the stores
    minx, miny, maxx, maxy = g.total_bounds
    mid = ((minx + maxx) / 2, (miny + maxy) / 2)
    bbox = (mid[0] - 0.005, mid[1] - 0.005, mid[0] + 0.005, mid[1] + 0.005)
    gb = gpkg_store.read_layer(LayerKind.ROADS, bbox=bbox)
    pb = postgis_store.read_layer(LayerKind.ROADS, bbox=bbox)
    assert 0 < len(gb) < 567 and gb["road_id"].tolist() == pb["road_id"].tolist()
