"""A schemathesis run against the OpenAPI schema on Providence with every check (schemathesis
``--checks all``): no server error (5xx), no schema-valid request rejected, no schema-violating
request accepted, responses that match their schema and content type, ``Allow`` on 405s.
Bounded: 25 generated cases per operation, derandomised.

(schemathesis' own pytest loader does not work with pytest 9, so the test walks the
operations itself and runs hypothesis on each one's strategy.)
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

pytestmark = [pytest.mark.postgis, pytest.mark.realdata, pytest.mark.slow]


def test_every_check_passes(providence_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", providence_app)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call()
            case.validate_response(response)  # every check

        run()
        tested.append(operation.label)
    assert set(tested) >= {
        "GET /",
        "GET /conformance",
        "GET /healthz",
        "GET /collections",
        "GET /collections/{name}",
        "GET /collections/{name}/items",
        "GET /collections/{name}/items/{feature_id}",
        "GET /locate",
        "POST /locate",
        "GET /plans",
        "GET /plans/{plan_id}",
        "GET /plans/{plan_id}/checks",
        "GET /plans/{plan_id}/map",
        "GET /plans/{plan_a}/diff/{plan_b}",
        "POST /scenarios",
    }, tested


def test_every_check_passes_on_authorised_scenarios(postgis_store: object) -> None:
    """POST /scenarios with the token, so generated documents reach the scenario parser and
    runner (on a tiny store of its own: 2 units, one plan)::

        +----+----+
        | u1 | u2 |   A = u1, B = u2; 30 households each
        +----+----+
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    from gridplan.api.app import create_app
    from gridplan.data.layers import LayerKind
    from gridplan.plan import Plan
    from gridplan.settings import Settings

    boxes = [shapely.box(0, 0, 0.01, 0.01), shapely.box(0.01, 0, 0.02, 0.01)]
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2"], "households": [30.0, 30.0], "residents": [75.0, 75.0]},
        geometry=boxes,
        crs=4326,
    )
    areas = gpd.GeoDataFrame(
        {
            "level": ["community"] * 2,
            "area_id": ["A", "B"],
            "name": ["A", "B"],
            "code": ["350582001004", "350582001005"],
            "parent_id": [None, None],
            "households": [30.0, 30.0],
            "residents": [75.0, 75.0],
        },
        geometry=boxes,
        crs=4326,
    )
    assignments = pd.DataFrame(
        {"unit_id": ["u1", "u2"], "community_id": ["A", "B"], "grid_id": [None, None]}
    )
    postgis_store.import_layers({LayerKind.UNITS: units})  # type: ignore[attr-defined]
    postgis_store.save_plan(Plan("tiny", assignments, areas))  # type: ignore[attr-defined]
    app = create_app(Settings(api_token="t"), store=postgis_store)  # type: ignore[arg-type]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema["/scenarios"]["POST"]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers={"Authorization": "Bearer t"})
        case.validate_response(response)  # every check

    run()
