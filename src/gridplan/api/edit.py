"""Editing plans over HTTP: the edit contract and the browser editor built on it.

``POST /plans/{id}/edits`` previews moves of units between communities (nothing stored): the
edited plan's communities with their households, band status and parts, the findings of the
live check (the rules of ``gridplan check``, rechecked only where the moves touched) and the
grids affected. With ``?save=true`` and the bearer token it stores the edited plan (parent =
the base, checked at every level and stored with its findings) and answers 201. A base that is
no longer the latest plan is named in every preview (``stale``, ``latest_plan``, ``message``);
saving it is a 409 unless ``?force=true``.

``GET /plans/{id}/edit`` is the editor page (Leaflet, vendored: no external request);
``GET /plans/{id}/edit/data`` the units and communities it draws; ``GET /editor/{asset}`` its
script, style sheet and Leaflet.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import HTMLResponse, Response

from gridplan.api.auth import check_bearer
from gridplan.api.service import PLAN_ID_MAX, Service
from gridplan.errors import NotFoundError
from gridplan.geo.edit import EditBase, Move
from gridplan.maps.editor import ASSETS, asset_bytes, editor_data, editor_page
from gridplan.ops.edit import open_edit, preview_edit, save_edit
from gridplan.plan import Level

#: Prepared base plans kept per (plan, latest import): preparing one checks every area once.
EDIT_CACHE_SIZE = 2
#: The most moves one request may carry.
MAX_MOVES = 20_000

PlanId = Annotated[int, Path(ge=1, le=PLAN_ID_MAX, description="The base plan's id")]


class MoveIn(BaseModel):
    """One unit to move."""

    model_config = ConfigDict(extra="forbid")

    unit: str = Field(min_length=1, description="The unit id", examples=["u10.1"])
    to: str = Field(
        min_length=1,
        description="The target community: an id, a code or a name of the base plan, or a new "
        "name (a new community)",
        examples=["2", "青新社区"],
    )
    new: bool | None = Field(
        None,
        description="true: `to` must be a new community; false: it must be one of the plan's "
        "(404 otherwise); null (default): new when it names none of the plan's",
    )


class EditIn(BaseModel):
    """An edit: moves applied in order to the base plan."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"moves": [{"unit": "u10.1", "to": "2"}, {"unit": "u11", "to": "新社区"}]}
        },
    )

    moves: list[MoveIn] = Field(max_length=MAX_MOVES, description="The moves, in order")
    name: str | None = Field(
        None, max_length=200, description="The new plan's name (on save; default: the base's)"
    )


class CommunityOut(BaseModel):
    """A community of the edited plan."""

    id: str
    code: str | None
    name: str
    households: float | None
    residents: float | None
    in_band: bool | None = Field(description="In the plan's community band (null: unknown)")
    parts: int = Field(description="Number of parts (more than 1: not contiguous)")
    embedded: bool = Field(description="Lies inside one other community (an enclave)")
    units: int
    findings: int = Field(description="Findings of the live check on this community")
    road_boundary_share: float | None
    changed: bool = Field(description="The edit changed it")
    new: bool = Field(description="The edit created it")


class FindingOut(BaseModel):
    """A finding of the live check (the rule ids of ``gridplan check``)."""

    rule: str
    severity: str
    level: str
    area_id: str | None
    value: float | None
    message: str
    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON (EPSG:4326), with ?geometry=true"
    )


class GridOut(BaseModel):
    """A grid the edit changed."""

    id: str
    code: str | None
    community: str | None
    units_before: int
    units_after: int
    households_before: float
    households_after: float
    in_band: bool | None
    status: str = Field(description="changed, new or removed")


class MovedOut(BaseModel):
    units: int
    households: float


class PreviewOut(BaseModel):
    """The live check of an edit (nothing stored)."""

    plan_id: int = Field(description="The base plan")
    latest_plan: int | None = Field(description="The latest stored plan")
    stale: bool = Field(description="A plan was stored after the base: saving needs force")
    message: str | None = Field(description="Why the base is stale, when it is")
    incremental: bool = Field(description="Only the touched communities were rechecked")
    check_ms: float = Field(description="Server-side time of the live check")
    measure: str
    band: list[float] | None
    moved: MovedOut
    communities: list[CommunityOut]
    findings: list[FindingOut]
    grids: list[GridOut]


class SavedOut(BaseModel):
    """The edit stored as a new plan."""

    plan_id: int
    parent: int
    checks: dict[str, Any] = Field(description="Findings per level of the stored plan")
    links: list[dict[str, str]]


_bearer = HTTPBearer(auto_error=False, description="The service's API token (saving only)")


def make_router(service: Service) -> APIRouter:
    """The edit routes of one app."""
    router = APIRouter(tags=["edits"])

    @lru_cache(maxsize=EDIT_CACHE_SIZE)
    def prepared(plan_id: int, import_id: int) -> EditBase:
        return service.call(lambda s: open_edit(s, plan_id))

    @lru_cache(maxsize=EDIT_CACHE_SIZE)
    def page_data(plan_id: int, import_id: int) -> bytes:
        return orjson.dumps(editor_data(prepared(plan_id, import_id)))

    def base_of(plan_id: int) -> EditBase:
        service.plans.get(plan_id)  # 404 for an unknown plan, before any preparation
        return prepared(plan_id, service.latest_import())

    @router.post(
        "/plans/{plan_id}/edits",
        summary="Preview an edit of a plan (moves of units) with a live check; "
        "?save=true stores it as a new plan (needs the bearer token)",
        status_code=200,
        responses={
            200: {"model": PreviewOut, "description": "The live check; nothing stored"},
            201: {"model": SavedOut, "description": "Saved: the new plan and its parent"},
            400: {"description": "An ambiguous target, or new=true naming an existing one"},
            401: {"description": "Saving without a valid bearer token"},
            404: {"description": "No such plan, unit, or (with new=false) community"},
            409: {"description": "Saving a base that is no longer the latest plan (use force)"},
            422: {"description": "A malformed request body or parameter"},
            503: {"description": "The database cannot be reached"},
        },
    )
    def edits(
        request: Request,
        body: EditIn,
        plan_id: PlanId,
        save: bool = Query(False, description="Store the edited plan (needs the token)"),
        force: bool = Query(False, description="Save even if the base is not the latest plan"),
        geometry: bool = Query(False, description="Include each finding's GeoJSON geometry"),
        grids: bool = Query(False, description="Also check the grids live"),
        _credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> Response:
        if save:
            check_bearer(request.headers.get("authorization"), service.settings.api_token)
        base = base_of(plan_id)
        moves = [Move(m.unit, m.to, m.new) for m in body.moves]
        if save:
            saved = service.call(lambda s: save_edit(s, base, moves, force=force, name=body.name))
            service.plans.invalidate()
            root = str(request.base_url).rstrip("/")
            doc = saved.to_json()
            doc["links"] = [
                {"href": f"{root}/plans/{saved.plan_id}", "rel": "plan"},
                {"href": f"{root}/plans/{plan_id}/diff/{saved.plan_id}", "rel": "diff"},
                {"href": f"{root}/plans/{saved.plan_id}/edit", "rel": "edit"},
            ]
            return _json(doc, 201)
        levels = (Level.COMMUNITY, Level.GRID) if grids else (Level.COMMUNITY,)
        result = preview_edit(base, moves, latest_plan=service.plans.latest_id(), levels=levels)
        return _json(result.to_json(geometry=geometry))

    @router.get(
        "/plans/{plan_id}/edit",
        summary="The editor page of a plan (a browser page; works offline)",
        response_class=HTMLResponse,
        responses={200: {"content": {"text/html": {}}}, 404: {"description": "No such plan"}},
    )
    def edit_page(request: Request, plan_id: PlanId) -> Response:
        plan = service.plans.get(plan_id)
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(editor_page(plan_id, plan.name, root=root))

    @router.get(
        "/plans/{plan_id}/edit/data",
        summary="What the editor page draws: units, their community and grid, communities",
        responses={404: {"description": "No such plan"}},
    )
    def edit_data(plan_id: PlanId) -> Response:
        service.plans.get(plan_id)
        body = page_data(plan_id, service.latest_import())
        return Response(body, media_type="application/json")

    @router.get(
        "/editor/{asset:path}",
        summary="The editor's script, style sheet and vendored Leaflet",
        include_in_schema=False,
    )
    def asset(asset: str) -> Response:
        if asset not in ASSETS:
            raise NotFoundError(f"no editor asset {asset!r}")
        body, media = asset_bytes(asset)
        return Response(body, media_type=media, headers={"Cache-Control": "max-age=3600"})

    return router


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


__all__ = ["EditIn", "MoveIn", "PreviewOut", "SavedOut", "make_router"]
