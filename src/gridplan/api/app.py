"""The gridplan HTTP service (FastAPI), built from explicit settings by :func:`create_app`.

Serve it with ``gridplan serve`` (uvicorn), or in a test::

    from fastapi.testclient import TestClient
    from gridplan.api.app import create_app
    from gridplan.settings import Settings

    client = TestClient(create_app(Settings(database_url="gridplan.gpkg")))
    client.get("/locate", params={"lon": 118.55, "lat": 24.78}).json()

Routes: ``/`` (landing), ``/conformance``, ``/collections…`` (:mod:`gridplan.api.features`),
``/locate`` (:mod:`gridplan.api.locate`), ``/plans…`` and ``/scenarios``
(:mod:`gridplan.api.plans`), ``/healthz``. Errors are mapped once, in
:mod:`gridplan.api.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridplan import __version__
from gridplan.api import features, locate, plans
from gridplan.api.errors import error_body, install_error_handlers, json_error, status_for
from gridplan.api.service import Service
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import LimitError
from gridplan.settings import Settings

logger = logging.getLogger("gridplan.api")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


class BodyLimit:
    """ASGI middleware refusing request bodies larger than ``max_bytes`` (a :class:`LimitError`).

    Parameters
    ----------
    app
        The wrapped app.
    max_bytes
        The largest body accepted, by ``Content-Length`` and by bytes actually received.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refuse(self, size: str) -> Response:
        exc = LimitError(f"the request body is {size}; at most {self.max_bytes} bytes are allowed")
        return json_error(status_for(exc), error_body(exc))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._refuse(f"{declared} bytes")(scope, receive, send)
                    return
        received = 0
        limit = self.max_bytes

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise LimitError(
                        f"the request body is over {limit} bytes; at most {limit} are allowed"
                    )
            return message

        await self.app(scope, counted, send)


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def create_app(
    settings: Settings, *, store: Store | None = None, refresh_seconds: float = 1.0
) -> FastAPI:
    """Build the HTTP app.

    Parameters
    ----------
    settings
        Service settings (store URL, API token, CORS origins, limits, paging).
    store
        An open store to serve; ``None`` opens ``settings.database_url`` on first use (and
        closes it at shutdown).
    refresh_seconds
        How often the app re-reads which plan is the latest (plans stored by another process
        show up within this time; plans stored through this app at once).

    Returns
    -------
    FastAPI
        The app; its service state is ``app.state.service``.
    """
    service = Service(settings, store, refresh_seconds=refresh_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        title="gridplan",
        version=__version__,
        description="Community (社区) and grid (网格) boundaries: OGC API Features collections, "
        "point location, plan checks, diffs, scenarios and maps. Reads are open; writes need "
        "`Authorization: Bearer <token>`.",
        lifespan=lifespan,
    )
    app.state.service = service
    install_error_handlers(app)

    @app.get("/", summary="Landing page", tags=["service"])
    def landing(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return _json(
            {
                "title": "gridplan",
                "description": "Community and grid boundaries of a subdistrict",
                "links": [
                    {"href": f"{base}/", "rel": "self", "type": "application/json"},
                    {
                        "href": f"{base}/openapi.json",
                        "rel": "service-desc",
                        "type": "application/vnd.oai.openapi+json;version=3.0",
                    },
                    {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html"},
                    {"href": f"{base}/conformance", "rel": "conformance"},
                    {"href": f"{base}/collections", "rel": "data"},
                    {"href": f"{base}/plans", "rel": "plans"},
                    {"href": f"{base}/locate", "rel": "locate"},
                    {"href": f"{base}/healthz", "rel": "health"},
                ],
            }
        )

    @app.get("/conformance", summary="OGC conformance classes", tags=["service"])
    def conformance() -> Response:
        return _json({"conformsTo": CONFORMANCE})

    @app.get(
        "/healthz",
        summary="Whether the database is reachable",
        tags=["service"],
        responses={503: {"description": "The database cannot be reached"}},
    )
    def healthz() -> Response:
        try:
            service.call(lambda s: s.count(LayerKind.OUTLINE))
        except Exception as exc:  # any failure here means "not reachable"
            logger.warning("health check failed: %s", exc)
            return _json({"status": "unavailable", "database": "unreachable"}, 503)
        return _json({"status": "ok", "database": "reachable"})

    app.include_router(features.make_router(service))
    app.include_router(locate.make_router(service))
    app.include_router(plans.make_router(service))

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app
