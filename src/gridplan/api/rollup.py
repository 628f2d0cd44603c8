"""Roll-ups over HTTP: ``GET /plans/{id}/rollup`` (:func:`gridplan.ops.report.report_plan`).

Query parameters: ``level`` (``grid``, ``community``, ``subdistrict`` or ``district``; default
all four), ``subdistrict`` (only that subdistrict, by code), ``format`` (``json``, default, or
``csv``), and the policy's numbers (``full_time_per_grid``, ``households_per_staff``,
``volunteer_share``, ``model_volunteer_share``, ``funding_per_household``,
``funding_per_new_household``; defaults of :class:`gridplan.geo.rollup.RollupPolicy`). The
JSON is :meth:`gridplan.ops.report.PlanReport.to_json`: the policy, and per
level one row per area with households, residents, units, buildings, compounds, grids, staff
(on the roster, needed, short), registered volunteers (target, short), funding and findings
by rule, with the store's staff roster and service figures (``gridplan roster``). Computed
once per (plan, latest import, roster and figures, level, subdistrict) however many clients
ask.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from gridplan.api.features import refuse_unknown_parameters
from gridplan.api.service import PLAN_ID_MAX, Service, SharedResults
from gridplan.geo.rollup import RollupPolicy, ServicePolicy, StaffPolicy
from gridplan.ops.report import levels_of, report_plan

#: Roll-ups kept per (plan, import, level, subdistrict).
ROLLUP_CACHE_SIZE = 16

_PARAMETERS = (
    "level",
    "subdistrict",
    "format",
    "full_time_per_grid",
    "households_per_staff",
    "volunteer_share",
    "model_volunteer_share",
    "funding_per_household",
    "funding_per_new_household",
)
_DEFAULT = RollupPolicy()

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "An unknown query parameter"},
    404: {"description": "No such plan, or no such subdistrict in it"},
    422: {"description": "A parameter of the wrong type or out of range"},
    503: {"description": "The database cannot be reached"},
}


def make_router(service: Service) -> APIRouter:
    """The roll-up route of one app."""
    router = APIRouter(tags=["plans"])
    results = SharedResults(max_entries=ROLLUP_CACHE_SIZE)

    @router.get(
        "/plans/{plan_id}/rollup",
        summary="A plan rolled up: grid → community → subdistrict → district",
        responses=_ERRORS,
    )
    def rollup(
        request: Request,
        plan_id: Annotated[int, Path(ge=1, le=PLAN_ID_MAX, description="Plan id")],
        level: Annotated[
            Literal["grid", "community", "subdistrict", "district"] | None,
            Query(description="one level (default: all four)"),
        ] = None,
        subdistrict: Annotated[str | None, Query(description="a subdistrict code")] = None,
        format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
        full_time_per_grid: Annotated[
            int, Query(ge=0, le=100, description="full-time grid workers per grid")
        ] = _DEFAULT.staff.full_time_per_grid,
        households_per_staff: Annotated[
            float, Query(ge=0, le=1e6, description="one more staff per this many households")
        ] = _DEFAULT.staff.households_per_staff,
        volunteer_share: Annotated[
            float, Query(ge=0, le=1, description="registered volunteers / residents")
        ] = _DEFAULT.service.volunteer_share,
        model_volunteer_share: Annotated[
            float, Query(ge=0, le=1, description="the same in model communities")
        ] = _DEFAULT.service.model_volunteer_share,
        funding_per_household: Annotated[
            float, Query(ge=0, le=1e6, description="yuan per household per year")
        ] = _DEFAULT.service.funding_per_household,
        funding_per_new_household: Annotated[
            float, Query(ge=0, le=1e6, description="yuan per new household per year")
        ] = _DEFAULT.service.funding_per_new_household,
    ) -> Response:
        refuse_unknown_parameters(request, _PARAMETERS)
        levels = levels_of(level)
        # the roster and service figures are replaced by their own imports: part of the key
        figures = service.call(lambda s: (s.read_staff().to_json(), s.read_service().to_json()))
        policy = RollupPolicy(
            StaffPolicy(full_time_per_grid, households_per_staff),
            ServicePolicy(
                volunteer_share,
                model_volunteer_share,
                funding_per_household,
                funding_per_new_household,
            ),
        )
        key = (plan_id, service.latest_import(), figures, levels, subdistrict, format, policy)

        def compute() -> bytes:
            report = service.call(
                lambda s: report_plan(s, plan_id, subdistrict=subdistrict, policy=policy)
            )
            if format == "csv":
                return str(report.frame(levels).to_csv(index=False)).encode("utf-8")
            return orjson.dumps(report.to_json(levels), option=orjson.OPT_SERIALIZE_NUMPY)

        body = results.get(key, compute)
        media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
        return Response(body, media_type=media)

    return router


__all__ = ["make_router"]
