"""Checking one subdistrict of a district's plan reports nothing of the others: its units,
compounds and facilities only, and no district outline turning the others into a gap."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from gridplan.data.layers import LayerKind
from gridplan.ops.checks import check_stored_plan
from gridplan.plan import Level, Plan


def test_one_subdistrict_is_checked_alone(gpkg_store: Any) -> None:
    """Two communities, ``a`` in subdistrict 001 and ``b`` in 002 (codes 350582001001 and
    350582002001), a compound in each, the district outline round both::

        +--------+--------+
        | a  (c1)| b  (c2)|
        +--------+--------+
    """
    boxes = [shapely.box(118.50, 24.70, 118.51, 24.71), shapely.box(118.51, 24.70, 118.52, 24.71)]
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2"], "households": [1500.0, 1600.0]}, geometry=boxes, crs=4326
    )
    compounds = gpd.GeoDataFrame(
        {
            "compound_id": ["c1", "c2"],
            "name": ["银星花园", "新世纪豪园"],
            "households": [300.0, 400.0],
        },
        geometry=[b.centroid.buffer(0.002) for b in boxes],
        crs=4326,
    )
    outline = gpd.GeoDataFrame(
        {"outline_id": ["d"], "name": ["district"]},
        geometry=[shapely.box(118.50, 24.70, 118.52, 24.71)],
        crs=4326,
    )
    gpkg_store.import_layers(
        {LayerKind.UNITS: units, LayerKind.COMPOUNDS: compounds, LayerKind.OUTLINE: outline}
    )
    areas = gpd.GeoDataFrame(
        {
            "level": ["community", "community"],
            "area_id": ["a", "b"],
            "name": ["青新社区", "锦青社区"],
            "code": ["350582001001", "350582002001"],
            "parent_id": [None, None],
            "households": [1500.0, 1600.0],
            "residents": [None, None],
        },
        geometry=boxes,
        crs=4326,
    )
    assignments = pd.DataFrame(
        {"unit_id": ["u1", "u2"], "community_id": ["a", "b"], "grid_id": [None, None]}
    )
    plan_id = gpkg_store.save_plan(Plan("district", assignments, areas))
    whole = check_stored_plan(gpkg_store, plan_id=plan_id, level=Level.COMMUNITY)
    assert set(whole.report("community").areas["id"]) == {"a", "b"}
    one = check_stored_plan(gpkg_store, plan_id=plan_id, level=Level.COMMUNITY, subdistrict="001")
    report = one.report("community")
    assert list(report.areas["id"]) == ["a"]
    # the other subdistrict's compound is not "in no community", its land not a gap
    assert set(report.findings["rule"]) <= set(whole.report("community").findings["rule"])
    assert not (report.findings["rule"] == "compound.unassigned").any()
    assert not (report.findings["rule"] == "coverage.gap").any()

    # the same over HTTP
    from fastapi.testclient import TestClient

    from gridplan.api.app import create_app
    from gridplan.settings import Settings

    client = TestClient(create_app(Settings(), store=gpkg_store))
    doc = client.get(f"/plans/{plan_id}/checks", params={"subdistrict": "001"}).json()
    served = doc["levels"]["community"] if "levels" in doc else doc["community"]
    assert [a["id"] for a in served["areas"]] == ["a"]
    assert client.get(f"/plans/{plan_id}/checks", params={"subdistrict": "009"}).status_code == 404
    assert client.get(f"/plans/{plan_id}/checks", params={"subdistrict": "x"}).status_code == 422
