"""The one mapping of the gridplan error hierarchy to HTTP statuses.

* ``LimitError`` -> 422: the request is larger than the limits allow (batch, body);
* ``InputError`` (also ``CRSError``, ``InvalidFeaturesError``) -> 400: a bad parameter or
  document;
* ``NotFoundError`` -> 404: an unknown plan, collection or feature, a point outside every
  community;
* ``ConflictError`` -> 409: the request contradicts stored state;
* ``AuthError`` -> 401: a write without a valid bearer token;
* ``ScenarioError`` -> 409: a well-formed scenario step cannot be applied to its base plan
  (a community or compound the plan does not have; the body names the step and action);
* ``InfeasibleError`` -> 409: no plan of the stored units satisfies the constraints;
* ``StoreError`` -> 503: the store cannot be reached or written (also a SQLAlchemy
  connection failure the store did not wrap);
* FastAPI request validation -> 422: a parameter of the wrong type or out of range;
* anything else -> 500 with a generic body, and the traceback is logged (a bug).

Every error body is JSON: ``{"code": "<ErrorClass>", "description": "<reason>"}`` (plus
``step``, ``action``, ``reason`` for a scenario error and ``problems`` for invalid features).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gridplan.errors import (
    AuthError,
    ConflictError,
    GridplanError,
    InfeasibleError,
    InputError,
    InvalidFeaturesError,
    LimitError,
    NotFoundError,
    ScenarioError,
    StoreError,
)

logger = logging.getLogger("gridplan.api")

#: Status per error class; the most specific class listed first wins.
STATUS: tuple[tuple[type[GridplanError], int], ...] = (
    (LimitError, 422),
    (InputError, 400),
    (NotFoundError, 404),
    (ConflictError, 409),
    (AuthError, 401),
    (ScenarioError, 409),
    (InfeasibleError, 409),
    (StoreError, 503),
)


def status_for(error: GridplanError) -> int:
    """Return the HTTP status of a gridplan error.

    Examples
    --------
    >>> from gridplan.errors import NotFoundError
    >>> status_for(NotFoundError("plan 9"))
    404
    """
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 400


def error_body(error: GridplanError) -> dict[str, Any]:
    """The JSON body describing a gridplan error."""
    body: dict[str, Any] = {"code": type(error).__name__, "description": str(error)}
    if isinstance(error, ScenarioError):
        body.update(step=error.step, action=error.action, reason=error.reason)
    if isinstance(error, InvalidFeaturesError):
        body["problems"] = [
            {"layer": p.layer, "feature": p.feature, "reason": p.reason} for p in error.problems
        ]
    return body


def json_error(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    """A JSON error response."""
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def _gridplan_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GridplanError)
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
    if isinstance(exc, StoreError):
        logger.warning("store error on %s %s: %s", request.method, request.url.path, exc)
    return json_error(status, error_body(exc), headers)


def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return json_error(
        422,
        {"code": "ValidationError", "description": "; ".join(problems) or "invalid request"},
    )


def _http_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return json_error(
        exc.status_code,
        {"code": f"HTTP{exc.status_code}", "description": str(exc.detail)},
        dict(exc.headers) if exc.headers else None,
    )


def _database_handler(request: Request, exc: Exception) -> Response:
    logger.warning("database error on %s %s: %s", request.method, request.url.path, exc)
    return json_error(503, {"code": "StoreError", "description": "the database cannot be reached"})


def _unexpected_handler(request: Request, exc: Exception) -> Response:
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_error(500, {"code": "InternalError", "description": "internal server error"})


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping on an app (called by :func:`gridplan.api.app.create_app`)."""
    app.add_exception_handler(GridplanError, _gridplan_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(OperationalError, _database_handler)
    app.add_exception_handler(InterfaceError, _database_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
