"""Fixtures of the HTTP tests: a real PostGIS store loaded with Providence.

Providence's 2010 census blocks are the units, its 39 tracts the communities and its 154 block
groups (the first 12 characters of ``GEOID10``) the grids; households = residents / 2.5 (the
data has no household count). The store is built once per session in its own schema and
dropped afterwards; tests that write use a store of their own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gridplan.api.app import create_app
from gridplan.data.layers import LayerKind
from gridplan.plan import Plan
from gridplan.settings import Settings

TOKEN = "test-token-3f9a"
TEST_DATABASE_URL = os.environ.get(
    "GRIDPLAN_TEST_DATABASE_URL", "postgresql+psycopg://postgres@localhost/gridplan_test"
)


def providence_layers(blocks_path: Path) -> tuple[gpd.GeoDataFrame, Plan]:
    """The units layer and the tract / block-group plan of Providence (EPSG:4326)."""
    blocks = gpd.read_file(blocks_path).to_crs(4326)
    units = gpd.GeoDataFrame(
        {
            "unit_id": blocks["GEOID10"].astype(str),
            "households": blocks["TOTPOP"].astype(float) / 2.5,
            "residents": blocks["TOTPOP"].astype(float),
        },
        geometry=blocks.geometry.values,
        crs=4326,
    ).sort_values("unit_id", ignore_index=True)
    tract = units["unit_id"].str[5:11]
    group = units["unit_id"].str[:12]
    work = units.assign(tract=tract, group=group)
    communities = work.dissolve(by="tract", aggfunc={"households": "sum", "residents": "sum"})
    communities = communities.reset_index().rename(columns={"tract": "area_id"})
    communities["level"] = "community"
    communities["name"] = "Tract " + communities["area_id"]
    communities["code"] = "44007" + communities["area_id"]
    communities["parent_id"] = None
    grids = work.dissolve(by="group", aggfunc={"households": "sum", "residents": "sum"})
    grids = grids.reset_index().rename(columns={"group": "area_id"})
    grids["level"] = "grid"
    grids["name"] = (
        "Block group " + grids["area_id"].str[-1] + ", tract " + grids["area_id"].str[5:11]
    )
    grids["code"] = grids["area_id"]
    grids["parent_id"] = grids["area_id"].str[5:11]
    cols = ["level", "area_id", "name", "code", "parent_id", "households", "residents", "geometry"]
    areas = gpd.GeoDataFrame(
        pd.concat([communities[cols], grids[cols]], ignore_index=True), crs=4326
    )
    assignments = pd.DataFrame(
        {"unit_id": units["unit_id"], "community_id": tract, "grid_id": group}
    )
    plan = Plan(
        name="Providence 2010: tracts and block groups",
        assignments=assignments,
        areas=areas,
        targets={"community": {"residents": [3000, 5000]}, "grid": {"households": [300, 500]}},
        source="import:providence_blocks.gpkg",
    )
    return units, plan


@dataclass
class Providence:
    """The session's Providence store and what was put in it."""

    store: object
    plan_id: int
    units: gpd.GeoDataFrame
    plan: Plan


@pytest.fixture(scope="session")
def providence(shared_data: Path) -> Iterator[Providence]:
    """A PostGIS store (own schema) holding Providence's units and one plan."""
    from gridplan.data.store.postgis import PostGISStore

    units, plan = providence_layers(shared_data / "providence" / "providence_blocks.gpkg")
    store = PostGISStore(TEST_DATABASE_URL, schema=f"t_api_{uuid.uuid4().hex[:10]}")
    store.initialise()
    try:
        store.import_layers({LayerKind.UNITS: units}, source="providence_blocks.gpkg")
        plan_id = store.save_plan(plan)
        yield Providence(store, plan_id, units, plan)
    finally:
        store.drop()
        store.close()


@pytest.fixture(scope="session")
def providence_app(providence: Providence) -> FastAPI:
    """The app serving the Providence store (writes need :data:`TOKEN`)."""
    settings = Settings(
        database_url=TEST_DATABASE_URL,
        api_token=TOKEN,
        cors_origins=["https://dashboard.example.org"],
        max_batch_points=20_000,
        max_body_bytes=2_000_000,
        page_limit_default=10,
        page_limit_max=50,
    )
    return create_app(settings, store=providence.store)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def client(providence_app: FastAPI) -> Iterator[TestClient]:
    """A test client of the Providence app."""
    with TestClient(providence_app) as c:
        yield c
