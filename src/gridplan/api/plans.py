"""Plans over HTTP: list, describe, check, compare, draw, and create one from a scenario.

``GET /plans``, ``GET /plans/{id}`` (targets, metrics, parent), ``GET /plans/{id}/checks`` (the
check report of :mod:`gridplan.geo.rules`), ``GET /plans/{a}/diff/{b}`` (what moved: units and
households between communities, and households per community before and after),
``GET /plans/{id}/map`` (the Folium HTML of :mod:`gridplan.maps`), ``POST /scenarios`` (a
scenario document; a new plan, stored with the findings of its check; a write, so it needs the
bearer token).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import yaml
from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import HTMLResponse, Response

from gridplan.api.auth import writer
from gridplan.api.commands.scenario import load_base, read_check_layers, summary
from gridplan.api.locate import PlanIndex
from gridplan.api.service import PLAN_ID_MAX, Service
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import InputError, NotFoundError
from gridplan.geo.rules import CheckLayers, check_plan_levels
from gridplan.geo.scenario import Scenario, parse_scenario, run_scenario
from gridplan.geo.scenario.schema import scenario_json_schema
from gridplan.maps.inputs import MapLayers
from gridplan.maps.render import map_html, render_plan_map
from gridplan.plan import Level, Plan, PlanInfo

#: Check reports kept per (plan, import).
CHECK_CACHE_SIZE = 8
#: Rendered plan maps kept per (plan, import): a city map is a few MB and 0.3-1 s to draw.
MAP_CACHE_SIZE = 4


#: The ``POST /scenarios`` request body: the scenario model's JSON schema, its base a stored
#: plan (bases from files are for the command line).
_SCENARIO_SCHEMA: dict[str, Any] = {
    **scenario_json_schema(stored_base_only=True, plan_id_max=PLAN_ID_MAX),
    "example": {
        "name": "青新社区 takes 银星花园",
        "base": {"plan": "latest"},
        "targets": {"community": {"households": [1000, 3000]}},
        "steps": [
            {"action": "assign_compound", "compounds": ["银星花园"], "community": "青新社区"}
        ],
    },
}

PlanId = Annotated[int, Path(ge=1, le=PLAN_ID_MAX, description="Plan id")]


def info_json(info: PlanInfo, base: str) -> dict[str, Any]:
    """A plan header as JSON, with links."""
    return {
        "plan_id": info.plan_id,
        "name": info.name,
        "parent_id": info.parent_id,
        "created_at": info.created_at.isoformat(),
        "source": info.source,
        "targets": _jsonable(info.targets),
        "metrics": _jsonable(info.metrics),
        "links": [
            {"href": f"{base}/plans/{info.plan_id}", "rel": "self"},
            {"href": f"{base}/plans/{info.plan_id}/checks", "rel": "checks"},
            {"href": f"{base}/plans/{info.plan_id}/map", "rel": "map", "type": "text/html"},
            {
                "href": f"{base}/collections/communities/items?plan={info.plan_id}",
                "rel": "communities",
            },
            {"href": f"{base}/collections/grids/items?plan={info.plan_id}", "rel": "grids"},
        ],
    }


def _jsonable(value: Any) -> Any:
    """Plain JSON values: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def _membership(plan: Plan, units: gpd.GeoDataFrame | None) -> tuple[pd.DataFrame, str]:
    """Each unit's community in a plan: its assignments, else where the unit's
    representative point falls (a drawn plan)."""
    if len(plan.assignments):
        frame = plan.assignments[["unit_id", "community_id"]].copy()
        return frame.astype({"unit_id": str}), "assignments"
    if units is None or units.empty:
        return pd.DataFrame({"unit_id": [], "community_id": []}, dtype=object), "none"
    points = units.geometry.to_crs(4326).representative_point()
    located = PlanIndex(plan).community_of(points)
    return (
        pd.DataFrame({"unit_id": units["unit_id"].astype(str).to_numpy(), "community_id": located}),
        "located",
    )


def _compound_moves(
    before: Plan, after: Plan, compounds: gpd.GeoDataFrame | None
) -> list[dict[str, Any]]:
    if compounds is None or compounds.empty:
        return []
    points = compounds.geometry.to_crs(4326).representative_point()
    was = PlanIndex(before).community_of(points)
    now = PlanIndex(after).community_of(points)
    moved = np.flatnonzero(was != now)
    return [
        {
            "compound_id": _jsonable(compounds["compound_id"].iloc[i]),
            "name": _jsonable(compounds["name"].iloc[i]),
            "households": _jsonable(compounds["households"].iloc[i]),
            "from_community": was[i],
            "to_community": now[i],
        }
        for i in moved.tolist()
    ]


def plan_diff(
    before: Plan,
    after: Plan,
    *,
    units: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
) -> dict[str, Any]:
    """What moved between two stored plans.

    Parameters
    ----------
    before, after
        Two stored plans.
    units
        The units layer (``unit_id``, ``households``): households of moved units, and the
        units of a drawn plan (one without assignments), placed by representative point.
    compounds
        The compounds layer: compounds whose community changed (by representative point).

    Returns
    -------
    dict
        ``units_moved``, ``households_moved``, ``moves`` (per pair of communities: units and
        households that went from one to the other), ``compounds_moved`` and ``communities``
        (households before and after, and the change, for every community in either plan);
        ``unit_basis`` says how units were placed (``assignments``, ``located`` or ``none``).

    Examples
    --------
    Two units, ``u1`` (10 households) and ``u2`` (20), both in ``A`` before; ``u2`` moves to
    ``B``::

        before:  [ A: u1 u2 ]        after: [ A: u1 ][ B: u2 ]

    gives ``units_moved == 1``, ``households_moved == 20`` and one move ``A -> B``.
    """
    a, basis_a = _membership(before, units)
    b, basis_b = _membership(after, units)
    joined = a.rename(columns={"community_id": "from"}).merge(
        b.rename(columns={"community_id": "to"}), on="unit_id", how="outer"
    )
    moved = joined[joined["from"].astype(object).ne(joined["to"].astype(object))].copy()
    moved = moved[~(moved["from"].isna() & moved["to"].isna())]
    known = units is not None and not units.empty
    if known:
        assert units is not None
        per_unit = pd.Series(
            units["households"].to_numpy(dtype=float), index=units["unit_id"].astype(str)
        )
        moved["households"] = moved["unit_id"].map(per_unit).astype(float)
    else:
        moved["households"] = np.nan
    moves: list[dict[str, Any]] = []
    if len(moved):
        grouped = (
            moved.fillna({"from": "", "to": ""})
            .groupby(["from", "to"], sort=True)
            .agg(units=("unit_id", "size"), households=("households", "sum"))
            .reset_index()
        )
        for row in grouped.itertuples(index=False):
            moves.append(
                {
                    "from_community": row[0] or None,
                    "to_community": row[1] or None,
                    "units": int(row[2]),
                    "households": float(row[3]) if known else None,
                }
            )
    ca = before.areas_at(Level.COMMUNITY).set_index("area_id")
    cb = after.areas_at(Level.COMMUNITY).set_index("area_id")
    ids = sorted(set(ca.index.astype(str)) | set(cb.index.astype(str)))
    communities = []
    for cid in ids:
        hb = float(ca.at[cid, "households"]) if cid in ca.index else 0.0
        ha = float(cb.at[cid, "households"]) if cid in cb.index else 0.0
        name = cb.at[cid, "name"] if cid in cb.index else ca.at[cid, "name"]
        communities.append(
            {
                "community_id": cid,
                "name": _jsonable(name),
                "in_before": cid in ca.index,
                "in_after": cid in cb.index,
                "households_before": _jsonable(hb),
                "households_after": _jsonable(ha),
                "change": _jsonable(ha - hb),
            }
        )
    return {
        "from_plan": before.plan_id,
        "to_plan": after.plan_id,
        "unit_basis": basis_a if basis_a == basis_b else f"{basis_a}/{basis_b}",
        "units_moved": len(moved),
        "households_moved": float(moved["households"].fillna(0).sum()) if known else None,
        "moves": moves,
        "compounds_moved": _compound_moves(before, after, compounds),
        "communities": communities,
    }


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A bad parameter"},
    404: {"description": "No such plan"},
    422: {"description": "A parameter of the wrong type or out of range"},
    503: {"description": "The database cannot be reached"},
}


def make_router(service: Service) -> APIRouter:
    """The plan and scenario routes of one app."""
    router = APIRouter(tags=["plans"])

    # Check reports and maps by (plan id, latest import): a stored plan never changes, and the
    # layers it is checked and drawn with change only by an import.
    @lru_cache(maxsize=CHECK_CACHE_SIZE)
    def checked(plan_id: int, import_id: int) -> bytes:
        plan = service.plans.get(plan_id)
        return orjson.dumps(check_plan(plan, service.call(read_check_layers)))

    @lru_cache(maxsize=MAP_CACHE_SIZE)
    def mapped(plan_id: int, import_id: int) -> str:
        plan = service.plans.get(plan_id)
        findings = service.call(lambda s: s.read_findings(plan_id))
        layers = MapLayers.from_plan(
            plan, findings=findings if len(findings) else None, **service.call(_map_layers)
        )
        return map_html(render_plan_map(layers))

    def _base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @router.get("/plans", summary="All stored plans, oldest first", responses=_ERRORS)
    def list_plans(request: Request) -> Response:
        infos = service.call(lambda s: s.list_plans())
        base = _base(request)
        return _json({"plans": [info_json(i, base) for i in infos]})

    @router.get("/plans/{plan_id}", summary="A plan: targets, metrics, parent", responses=_ERRORS)
    def get_plan(request: Request, plan_id: PlanId) -> Response:
        plan = service.plans.get(plan_id)
        body = info_json(plan.info, _base(request))
        body["communities"] = int((plan.areas["level"] == Level.COMMUNITY.value).sum())
        body["grids"] = int((plan.areas["level"] == Level.GRID.value).sum())
        body["units"] = len(plan.assignments)
        return _json(body)

    @router.get(
        "/plans/{plan_a}/diff/{plan_b}",
        summary="What moved from plan a to plan b",
        responses=_ERRORS,
    )
    def diff(plan_a: PlanId, plan_b: PlanId) -> Response:
        before = service.plans.get(plan_a)
        after = service.plans.get(plan_b)
        units = service.call(lambda s: s.read_layer(LayerKind.UNITS))
        compounds = service.call(lambda s: s.read_layer(LayerKind.COMPOUNDS))
        return _json(plan_diff(before, after, units=units, compounds=compounds))

    @router.get(
        "/plans/{plan_id}/checks",
        summary="Check a plan against the boundary rules (per level)",
        responses=_ERRORS,
    )
    def checks(plan_id: PlanId) -> Response:
        body = checked(plan_id, service.latest_import())
        return Response(body, media_type="application/json")

    @router.get(
        "/plans/{plan_id}/map",
        summary="The plan as a self-contained Folium (Leaflet) HTML map",
        response_class=HTMLResponse,
        responses={200: {"content": {"text/html": {}}, "description": "The map"}, **_ERRORS},
    )
    def plan_map(plan_id: PlanId) -> Response:
        return HTMLResponse(mapped(plan_id, service.latest_import()))

    @router.post(
        "/scenarios",
        summary="Run a scenario document and store the new plan (needs the bearer token)",
        status_code=201,
        dependencies=[Depends(writer(service.settings))],
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A scenario document (JSON, or YAML with a YAML content type). "
                "Over HTTP the base must be a stored plan: {base: {plan: <id> | latest}}.",
                "content": {
                    "application/json": {"schema": _SCENARIO_SCHEMA},
                    "application/yaml": {"schema": _SCENARIO_SCHEMA},
                },
            }
        },
        responses={
            201: {"description": "The new plan's id and the scenario report"},
            400: {"description": "A malformed scenario document"},
            401: {"description": "No or a wrong bearer token (or writes are disabled)"},
            404: {"description": "The base plan does not exist"},
            422: {"description": "A step failed (the body names the step and the action)"},
            503: {"description": "The database cannot be reached"},
        },
    )
    def run_scenario_document(request: Request, body: bytes = Depends(_body)) -> Response:
        scenario = parse_document(body, request.headers.get("content-type", ""))
        if scenario.base.plan is None:
            raise InputError(
                "over HTTP a scenario's base must be a stored plan (base: {plan: <id> | "
                "latest}); bases from files are for the command line"
            )
        wanted = scenario.base.plan
        if isinstance(wanted, int) and not 1 <= wanted <= PLAN_ID_MAX:
            raise NotFoundError(f"plan {wanted} not found")
        base = service.call(lambda s: load_base(scenario, s))
        result = run_scenario(scenario, base)
        plan_id = service.call(lambda s: s.save_plan(result.plan, result.findings))
        service.plans.invalidate()
        report = summary(result, plan_id)
        report["links"] = [
            {"href": f"{_base(request)}/plans/{plan_id}", "rel": "plan"},
            {
                "href": f"{_base(request)}/plans/{result.plan.parent_id}/diff/{plan_id}",
                "rel": "diff",
            },
        ]
        return _json(_jsonable(report), status=201)

    return router


async def _body(request: Request) -> bytes:
    return await request.body()


def parse_document(body: bytes, content_type: str) -> Scenario:
    """Parse a scenario document: JSON, or YAML when the content type says YAML.

    Raises
    ------
    InputError
        If the document is not JSON / YAML or not a valid scenario (naming the field).
    """
    kind = content_type.split(";")[0].strip().lower()
    try:
        if "yaml" in kind or kind == "text/plain":
            data = yaml.safe_load(body.decode("utf-8"))
        else:
            data = orjson.loads(body)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"the scenario is not valid YAML: {exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise InputError(
            f"the scenario is not valid JSON ({exc}); send YAML as application/yaml"
        ) from exc
    scenario = parse_scenario(data, source="scenario")
    if scenario.seed < 0:  # numpy seeds are non-negative (the scenario model allows any int)
        raise InputError(f"scenario: seed must be a non-negative integer, not {scenario.seed}")
    return scenario


def _nonempty(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    return frame if len(frame) else None


def _map_layers(store: Store) -> dict[str, gpd.GeoDataFrame | None]:
    return {
        "roads": _nonempty(store.read_layer(LayerKind.ROADS)),
        "compounds": _nonempty(store.read_layer(LayerKind.COMPOUNDS)),
        "facilities": _nonempty(store.read_layer(LayerKind.FACILITIES)),
    }


def check_plan(plan: Plan, layers: CheckLayers | None = None) -> dict[str, Any]:
    """Run the rule engine on each level of a plan (:func:`check_plan_levels`: the plan's
    own targets), the ``GET /plans/{id}/checks`` document.

    The scenario runner checks its new plan with the same function and, on a stored base, the
    same layers (:func:`~gridplan.api.commands.scenario.read_check_layers`), so the findings
    stored with a scenario plan are the ones listed here.

    Returns
    -------
    dict
        ``{"plan_id", "levels": {"community": <CheckReport.to_json()> + measure, band,
        notes, "grid": ...}}`` (each level only when the plan has areas at it: a plan
        imported as grids alone has just ``grid``).
    """
    levels: dict[str, Any] = {}
    for level, report in check_plan_levels(plan, layers).items():
        doc = report.to_json()
        doc["measure"] = report.measure
        doc["band"] = list(report.band) if report.band is not None else None
        doc["notes"] = list(report.notes)
        levels[level] = doc
    return _jsonable({"plan_id": plan.plan_id, "levels": levels})
