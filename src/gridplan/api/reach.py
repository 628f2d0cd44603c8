"""Service reach over HTTP: ``GET /plans/{id}/reach``.

``?metres=500`` (repeatable) or ``?minutes=10`` (at the configured walking speed,
``GRIDPLAN_WALKING_SPEED``, default 50 m/min), default the thresholds 300 / 500 / 1,000 m;
``&kind=…`` picks the facility kind "any facility" counts; ``&geometry=false`` leaves out the
GeoJSON. The answer (:meth:`gridplan.ops.reach.PlanReach.to_json`): per threshold, per
community ``{"community", "name", "households", "households_within", "share", "centres",
"any": {"kind", "households_within", "share"}}``, plus the ``isochrones`` (a polygon per
facility and threshold, drawn along the walking network) and the ``unreached`` household
locations (at the smallest threshold), both GeoJSON FeatureCollections in CRS84.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from pydantic import Field
from starlette.responses import Response

from gridplan.api.features import refuse_unknown_parameters
from gridplan.api.service import PLAN_ID_MAX, Service, SharedResults
from gridplan.errors import InputError
from gridplan.ops.reach import plan_reach

#: Reach answers kept per (plan, import, parameters).
REACH_CACHE_SIZE = 8
_PARAMETERS = ("metres", "minutes", "kind", "geometry")
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A bad parameter (both metres and minutes, a threshold not positive)"},
    404: {"description": "No such plan"},
    422: {"description": "A parameter of the wrong type or out of range"},
    503: {"description": "The database cannot be reached"},
}

PlanId = Annotated[int, Path(ge=1, le=PLAN_ID_MAX, description="Plan id")]


def make_router(service: Service) -> APIRouter:
    """The reach route of one app."""
    router = APIRouter(tags=["reach"])
    answers = SharedResults(max_entries=REACH_CACHE_SIZE)

    @router.get(
        "/plans/{plan_id}/reach",
        summary="Households within walking reach of each community's service centre and of "
        "any facility, with isochrones along the walking network",
        responses={
            200: {
                "description": "Per threshold and community: households, households within "
                "reach, share; isochrones and unreached households as GeoJSON",
                "content": {
                    "application/json": {
                        "example": {
                            "plan_id": 2,
                            "network": "paths",
                            "speed_m_per_min": 50.0,
                            "kind": None,
                            "thresholds": [
                                {
                                    "metres": 500.0,
                                    "minutes": 10.0,
                                    "communities": [
                                        {
                                            "community": "1",
                                            "name": "C001",
                                            "households": 1593.2,
                                            "households_within": 661.2,
                                            "share": 0.415,
                                            "centres": ["node/4751244149"],
                                            "any": {
                                                "kind": None,
                                                "households_within": 1008.2,
                                                "share": 0.633,
                                            },
                                        }
                                    ],
                                }
                            ],
                            "notes": [],
                            "isochrones": {"type": "FeatureCollection", "features": []},
                            "unreached": {"type": "FeatureCollection", "features": []},
                        }
                    }
                },
            },
            **_ERRORS,
        },
    )
    def reach(
        request: Request,
        plan_id: PlanId,
        metres: Annotated[
            list[Annotated[float, Field(gt=0, le=100_000)]] | None,
            Query(
                max_length=10,
                description="walking threshold(s) in metres, at most 10 (default 300, 500, "
                "1000); not with minutes",
            ),
        ] = None,
        minutes: Annotated[
            list[Annotated[float, Field(gt=0, le=1_000)]] | None,
            Query(
                max_length=10,
                description="walking threshold(s) in minutes at the configured speed, at most "
                "10; not with metres",
            ),
        ] = None,
        kind: Annotated[
            str | None,
            Query(max_length=200, description="facility kind 'any facility' counts"),
        ] = None,
        geometry: Annotated[
            bool, Query(description="include the isochrones and unreached households")
        ] = True,
    ) -> Response:
        refuse_unknown_parameters(request, _PARAMETERS)
        if metres and minutes:
            raise InputError("give metres or minutes, not both")
        for name, values in (("metres", metres), ("minutes", minutes)):
            if values and len(values) > 10:
                raise InputError(f"at most 10 {name} thresholds")
        service.plans.get(plan_id)  # 404 for a plan that does not exist
        speed = service.settings.walking_speed
        key = (
            plan_id,
            service.latest_import(),
            tuple(metres or ()),
            tuple(minutes or ()),
            kind,
            geometry,
            speed,
        )

        def compute() -> bytes:
            result = service.call(
                lambda s: plan_reach(
                    s, plan_id, metres=metres, minutes=minutes, speed=speed, kind=kind
                )
            )
            return orjson.dumps(result.to_json(geometry=geometry))

        return Response(answers.get(key, compute), media_type="application/json")

    return router


__all__ = ["make_router"]
