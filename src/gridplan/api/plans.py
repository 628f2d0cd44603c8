"""Plans over HTTP: list, describe, check, compare, draw, and create one from a scenario.

``GET /plans``, ``GET /plans/{id}`` (targets, metrics, parent), ``GET /plans/{id}/checks`` (the
check report of :mod:`gridplan.geo.rules`), ``GET /plans/{a}/diff/{b}`` (what moved: units and
households between communities, and households per community before and after),
``GET /plans/{id}/map`` (the Folium HTML of :mod:`gridplan.maps`), ``POST /scenarios`` (a
scenario document; a new plan, stored with the findings of its check; a write, so it needs the
bearer token).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import yaml
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import HTMLResponse, Response

from gridplan.api.auth import writer
from gridplan.api.service import PLAN_ID_MAX, Service, SharedResults
from gridplan.data.layers import LayerKind
from gridplan.errors import InputError, NotFoundError
from gridplan.geo.diff import plan_diff
from gridplan.geo.scenario import Scenario, parse_scenario
from gridplan.geo.scenario.schema import scenario_json_schema
from gridplan.maps.render import map_html, render_plan_map
from gridplan.ops.checks import check_plan, in_subdistrict, jsonable
from gridplan.ops.layers import read_check_layers
from gridplan.ops.maps import stored_map_layers
from gridplan.ops.scenario import run_stored_scenario
from gridplan.plan import Level, PlanInfo

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
        "targets": jsonable(info.targets),
        "metrics": jsonable(info.metrics),
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
    # layers it is checked and drawn with change only by an import. Computed once however many
    # clients ask at the same time.
    reports = SharedResults(max_entries=CHECK_CACHE_SIZE)
    maps = SharedResults(max_entries=MAP_CACHE_SIZE)

    def checked(plan_id: int, import_id: int, subdistrict: str | None = None) -> bytes:
        def compute() -> bytes:
            plan = service.plans.get(plan_id)
            layers = service.call(read_check_layers)
            if subdistrict is not None:
                plan, layers = in_subdistrict(plan, layers, subdistrict)
            return orjson.dumps(check_plan(plan, layers).to_json())

        return reports.get((plan_id, import_id, subdistrict), compute)

    def mapped(plan_id: int, import_id: int) -> str:
        def compute() -> str:
            layers = service.call(lambda s: stored_map_layers(s, plan_id, include_units=False))
            return map_html(render_plan_map(layers))

        return maps.get((plan_id, import_id), compute)

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
        diff = plan_diff(before, after, units=units, compounds=compounds)
        return _json(jsonable(diff.to_json()))

    @router.get(
        "/plans/{plan_id}/checks",
        summary="Check a plan against the boundary rules (per level)",
        responses=_ERRORS,
    )
    def checks(
        plan_id: PlanId,
        subdistrict: Annotated[
            str | None,
            Query(
                pattern=r"^[0-9]{3}([0-9]{6})?$",
                description="only this subdistrict of the plan: its 9-digit code or last 3 "
                "digits (its units, compounds and facilities; no district outline)",
            ),
        ] = None,
    ) -> Response:
        body = checked(plan_id, service.latest_import(), subdistrict)
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
            409: {
                "description": "A step cannot be applied to the base plan, or no plan meets the "
                "targets (the body names the step and the action)"
            },
            422: {"description": "The body is larger than the limit"},
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
        stored = service.call(lambda s: run_stored_scenario(scenario, s))
        service.plans.invalidate()
        plan_id = stored.plan_id
        result = stored.result
        report = stored.to_json()
        report["links"] = [
            {"href": f"{_base(request)}/plans/{plan_id}", "rel": "plan"},
            {
                "href": f"{_base(request)}/plans/{result.plan.parent_id}/diff/{plan_id}",
                "rel": "diff",
            },
        ]
        return _json(jsonable(report), status=201)

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
