"""The ``POST /scenarios`` request schema is the scenario model's: every step type is in the
OpenAPI document, a document the schema allows is one the endpoint's parser accepts, and one
the schema forbids is refused with a 4xx.

The endpoint tests run on a tiny store of their own (2 units, one plan)::

    +----+----+
    | u1 | u2 |   A = u1, B = u2; 30 households each; compound "g" inside u1
    +----+----+
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import jsonschema_rs
import orjson
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from gridplan.api.app import create_app
from gridplan.api.plans import parse_document
from gridplan.api.service import PLAN_ID_MAX
from gridplan.data.layers import LayerKind
from gridplan.errors import InputError
from gridplan.geo.scenario.model import STEP_ACTIONS
from gridplan.geo.scenario.schema import scenario_json_schema
from gridplan.plan import Plan
from gridplan.settings import Settings

AUTH = {"Authorization": "Bearer t"}
BBOX = [0.0, 0.0, 0.011, 0.011]
WKT = "POLYGON ((0 0, 0.011 0, 0.011 0.011, 0 0.011, 0 0))"

#: Per action: steps the model allows, and steps it refuses (each one problem).
STEPS: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "assign_compound": (
        [{"community": "A", "compound": "g"}, {"community": "B", "compounds": ["g", "h"]}],
        [
            {"community": "A"},
            {"community": "A", "compound": ""},
            {"community": "A", "compounds": []},
            {"compound": "g"},
            {"community": "A", "compound": "g", "colour": "red"},
        ],
    ),
    "move_units": (
        [{"units": ["u1"], "community": "B"}],
        [{"units": [], "community": "B"}, {"units": ["u1"]}, {"units": "u1", "community": "B"}],
    ),
    "merge": (
        [{"communities": ["A", "B"]}, {"communities": ["A", "B"], "into": "AB"}],
        [{"communities": ["A"]}, {"communities": ["A", "B"], "into": 5}, {}],
    ),
    "split": (
        [{"community": "A"}, {"community": "A", "parts": 2, "into": ["X", "Y"]}],
        [{"community": "A", "parts": 1}, {"parts": 2}, {"community": "A", "parts": 2.5}],
    ),
    "create": (
        [
            {"name": "N", "units": ["u1"]},
            {"name": "N", "compounds": ["g"], "code": "350582001009"},
            {"name": "N", "area": {"bbox": BBOX}},
            {"name": "N", "area": {"wkt": WKT, "crs": "EPSG:4326"}},
            {"name": "N", "area": {"wkt": WKT, "bbox": None}},
        ],
        [
            {"name": "N"},
            {"name": "N", "units": []},
            {"name": "N", "area": {}},
            {"name": "N", "area": {"wkt": WKT, "bbox": BBOX}},
            {"name": "N", "area": {"bbox": [0, 0, 1]}},
            {"units": ["u1"]},
        ],
    ),
    "redistrict": (
        [
            {},
            {
                "communities": ["A", "B"],
                "keep_names": False,
                "minimal_change": False,
                "k": 1,
                "time_limit": 1,
            },
        ],
        [{"k": 0}, {"communities": "some"}, {"time_limit": 0}, {"keep_names": "maybe"}],
    ),
    "regrid": (
        [{}, {"communities": ["A"], "time_limit": 1.5}, {"communities": "all"}],
        [{"time_limit": -1}, {"communities": "A"}, {"grids": 3}],
    ),
}

#: Whole documents the schema forbids (the endpoint refuses each with a 4xx).
BAD_DOCUMENTS: list[dict[str, Any]] = [
    {"base": {"plan": "latest"}, "steps": [{"action": "regrid"}]},
    {"name": "x", "base": {"plan": "latest"}, "steps": []},
    {"name": "x", "base": {"plan": "latest"}, "steps": [{"action": "teleport"}]},
    {"name": "x", "base": {"plan": "latest"}, "steps": [{"communities": "all"}]},
    {"name": "x", "base": {"plan": "latest"}, "seed": -1, "steps": [{"action": "regrid"}]},
    {"name": "x", "base": {"plan": 0}, "steps": [{"action": "regrid"}]},
    {"name": "x", "base": {"plan": PLAN_ID_MAX + 1}, "steps": [{"action": "regrid"}]},
    {
        "name": "x",
        "base": {"units": "u.gpkg", "community_field": "c"},
        "steps": [{"action": "regrid"}],
    },
    {"name": "x", "base": {}, "steps": [{"action": "regrid"}]},
    {
        "name": "x",
        "base": {"plan": "latest"},
        "targets": {"community": {"households": [1000]}},
        "steps": [{"action": "regrid"}],
    },
    {"name": "x", "base": {"plan": "latest"}, "folder": "/etc", "steps": [{"action": "regrid"}]},
]


def _document(action: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"name": "doc", "base": {"plan": "latest"}, "steps": [{"action": action, **fields}]}


def _cases(valid: bool) -> list[Any]:
    return [
        pytest.param(action, fields, id=f"{action}-{i}")
        for action, (good, bad) in STEPS.items()
        for i, fields in enumerate(good if valid else bad)
    ]


@pytest.fixture(scope="module")
def validator() -> Any:
    return jsonschema_rs.validator_for(
        scenario_json_schema(stored_base_only=True, plan_id_max=PLAN_ID_MAX)
    )


def test_every_step_type_has_examples_and_is_in_the_schema() -> None:
    assert set(STEPS) == set(STEP_ACTIONS)
    schema = scenario_json_schema(stored_base_only=True, plan_id_max=PLAN_ID_MAX)
    steps = schema["properties"]["steps"]["items"]["oneOf"]
    assert [s["properties"]["action"]["const"] for s in steps] == list(STEP_ACTIONS)
    for step, model in zip(steps, STEP_ACTIONS.values(), strict=True):
        assert set(step["properties"]) == set(model.model_fields)
        assert step["additionalProperties"] is False
    assert "$ref" not in orjson.dumps(schema).decode()  # self-contained


@pytest.mark.parametrize(("action", "fields"), _cases(valid=True))
def test_a_schema_valid_step_is_parsed(validator: Any, action: str, fields: dict) -> None:
    doc = _document(action, fields)
    assert validator.is_valid(doc)
    scenario = parse_document(orjson.dumps(doc), "application/json")
    assert scenario.steps[0].action == action


@pytest.mark.parametrize(("action", "fields"), _cases(valid=False))
def test_a_schema_violating_step_is_refused(validator: Any, action: str, fields: dict) -> None:
    doc = _document(action, fields)
    assert not validator.is_valid(doc)
    with pytest.raises(InputError, match=rf"scenario: step 1 \({action}\): "):
        parse_document(orjson.dumps(doc), "application/json")


@pytest.mark.parametrize("doc", BAD_DOCUMENTS)
def test_a_schema_violating_document_is_refused_by_the_schema(validator: Any, doc: dict) -> None:
    assert not validator.is_valid(doc)


def test_the_base_of_the_file_schema_may_be_files() -> None:
    """The command line's schema (no HTTP narrowing) takes files as the base, as the model
    does."""
    v = jsonschema_rs.validator_for(scenario_json_schema())
    steps = [{"action": "regrid"}]
    assert v.is_valid(
        {"name": "x", "base": {"units": "u.gpkg", "community_field": "c"}, "steps": steps}
    )
    assert not v.is_valid({"name": "x", "base": {"units": "u.gpkg"}, "steps": steps})
    assert not v.is_valid(
        {
            "name": "x",
            "base": {"plan": 1, "units": "u.gpkg", "community_field": "c"},
            "steps": steps,
        }
    )
    assert v.is_valid({"name": "x", "base": {"plan": 0}, "steps": steps})


# -- the endpoint ------------------------------------------------------------------------


@pytest.fixture
def tiny(postgis_store: Any) -> Iterator[tuple[Any, TestClient]]:
    boxes = [shapely.box(0, 0, 0.01, 0.01), shapely.box(0.01, 0, 0.02, 0.01)]
    units = gpd.GeoDataFrame(
        {"unit_id": ["u1", "u2"], "households": [30.0, 30.0], "residents": [75.0, 75.0]},
        geometry=boxes,
        crs=4326,
    )
    compounds = gpd.GeoDataFrame(
        {"compound_id": ["k1"], "name": ["g"], "households": [10.0]},
        geometry=[shapely.box(0.002, 0.002, 0.004, 0.004)],
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
    postgis_store.import_layers({LayerKind.UNITS: units, LayerKind.COMPOUNDS: compounds})
    postgis_store.save_plan(Plan("tiny", assignments, areas))
    app = create_app(Settings(api_token="t"), store=postgis_store, refresh_seconds=0.0)
    with TestClient(app) as client:
        yield postgis_store, client


def _served_schema(client: TestClient) -> dict[str, Any]:
    body = client.get("/openapi.json").json()["paths"]["/scenarios"]["post"]["requestBody"]
    json_schema = body["content"]["application/json"]["schema"]
    assert body["content"]["application/yaml"]["schema"] == json_schema
    return json_schema


@pytest.mark.postgis
def test_the_openapi_document_holds_the_model_schema(tiny: tuple[Any, TestClient]) -> None:
    _, client = tiny
    served = _served_schema(client)
    example = served.pop("example")
    assert served == scenario_json_schema(stored_base_only=True, plan_id_max=PLAN_ID_MAX)
    actions = {
        s["properties"]["action"]["const"] for s in served["properties"]["steps"]["items"]["oneOf"]
    }
    assert actions == set(STEP_ACTIONS)
    assert jsonschema_rs.validator_for(served).is_valid(example)
    parse_document(orjson.dumps(example), "application/json")


@pytest.mark.postgis
def test_the_endpoint_accepts_what_the_schema_allows(tiny: tuple[Any, TestClient]) -> None:
    """Every valid example gets past the parser: 201, or 409 when the step itself cannot be
    applied on this store (e.g. no plan of 1000-3000 households in 60)."""
    _, client = tiny
    validator = jsonschema_rs.validator_for(_served_schema(client))
    statuses: dict[str, set[int]] = {}
    for action, (good, _) in STEPS.items():
        for fields in good:
            doc = _document(action, fields)
            assert validator.is_valid(doc)
            r = client.post("/scenarios", json=doc, headers=AUTH)
            assert r.status_code in (201, 409), (doc, r.text)
            if r.status_code == 409:
                assert r.json()["code"] in ("ScenarioError", "InfeasibleError"), r.text
            statuses.setdefault(action, set()).add(r.status_code)
    assert 201 in statuses["move_units"] and 201 in statuses["create"], statuses


@pytest.mark.postgis
def test_the_endpoint_refuses_what_the_schema_forbids(tiny: tuple[Any, TestClient]) -> None:
    store, client = tiny
    validator = jsonschema_rs.validator_for(_served_schema(client))
    docs = [_document(a, f) for a, (_, bad) in STEPS.items() for f in bad] + BAD_DOCUMENTS
    for doc in docs:
        assert not validator.is_valid(doc), doc
        r = client.post("/scenarios", json=doc, headers=AUTH)
        assert 400 <= r.status_code < 500 and r.status_code != 422, (doc, r.text)
        for fragment in ("steps.0", "Value error"):
            assert fragment not in r.json()["description"], r.text
    assert len(store.list_plans()) == 1  # nothing stored
