"""The gridplan HTTP service (FastAPI), built from explicit settings by :func:`create_app`.

Serve it with ``gridplan serve`` (uvicorn), or in a test::

    from fastapi.testclient import TestClient
    from gridplan.api.app import create_app
    from gridplan.settings import Settings

    client = TestClient(create_app(Settings(database_url="gridplan.gpkg")))
    client.get("/locate", params={"lon": 118.55, "lat": 24.78}).json()

Routes: ``/`` (landing), ``/conformance``, ``/collections…`` (:mod:`gridplan.api.features`),
``/locate`` (:mod:`gridplan.api.locate`), ``/plans…`` and ``/scenarios``
(:mod:`gridplan.api.plans`), ``/healthz``. Every GET route also answers HEAD, and every route
answers OPTIONS with its ``Allow`` header (:class:`Methods`). Links are built from
``settings.public_url``, or from a ``Host`` the app trusts (:class:`PublicHost`). Errors are
mapped once, in :mod:`gridplan.api.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import FastAPI, Request
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridplan import __version__
from gridplan.api import edit, features, locate, plans, reach, rollup
from gridplan.api.errors import error_body, install_error_handlers, json_error, status_for
from gridplan.api.features import public_base, refuse_unknown_parameters
from gridplan.api.service import Service
from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import InputError, LimitError, NotFoundError
from gridplan.settings import Settings

logger = logging.getLogger("gridplan.api")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]

#: ``Host`` names always trusted to build links (a client on the server itself).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _host_name(host: str) -> str:
    """The name part of a ``Host`` value (no port), lower-cased.

    Examples
    --------
    >>> _host_name("Example.org:8080"), _host_name("[::1]:80"), _host_name("10.0.0.5")
    ('example.org', '[::1]', '10.0.0.5')
    """
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def public_parts(public_url: str | None) -> tuple[str, str, str] | None:
    """The scheme, host and path prefix of a public base URL (``None`` for none).

    Raises
    ------
    InputError
        If it is not an http(s) URL with a host.

    Examples
    --------
    >>> public_parts("https://maps.example.org/gridplan/")
    ('https', 'maps.example.org', '/gridplan')
    """
    if not public_url:
        return None
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise InputError(
            f"public_url {public_url!r}: expected an http(s) URL such as "
            "https://maps.example.org/gridplan"
        )
    return parts.scheme, parts.netloc, parts.path.rstrip("/")


class PublicHost:
    """ASGI middleware deciding the scheme and host every link is built on.

    With ``public_url`` set, every request is seen as made to it (scheme, host and path
    prefix, as ``root_path``). Without, a ``Host`` header naming ``localhost``, the server's
    own address or one of ``allowed_hosts`` is kept; any other (``Host: evil.example``) is
    replaced by the address the connection came in on, so it never appears in a link.

    Parameters
    ----------
    app
        The wrapped app.
    public_url
        The service's public base URL, or ``None``.
    allowed_hosts
        Further trusted ``Host`` names.
    """

    def __init__(
        self, app: ASGIApp, public_url: str | None, allowed_hosts: list[str] | None = None
    ) -> None:
        self.app = app
        self.public = public_parts(public_url)
        self.allowed = LOCAL_HOSTS | {_host_name(h) for h in allowed_hosts or ()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"host"]
        host = next((v for k, v in scope.get("headers", ()) if k == b"host"), b"").decode("latin-1")
        scope = dict(scope)
        if self.public is not None:
            scheme, netloc, prefix = self.public
            scope["scheme"] = scheme
            scope["headers"] = [*headers, (b"host", netloc.encode("latin-1"))]
            if prefix:
                scope["root_path"] = prefix
        else:
            server = scope.get("server")
            own = None
            if server:
                name = str(server[0])
                name = f"[{name}]" if ":" in name else name
                own = name if server[1] in (None, 80, 443) else f"{name}:{server[1]}"
            name = _host_name(host)
            trusted = name in self.allowed or (own is not None and name == _host_name(own))
            if not trusted:
                scope["headers"] = [*headers, (b"host", (own or "localhost").encode("latin-1"))]
        await self.app(scope, receive, send)


def _route_methods(routes: Iterable[Any], path: str) -> set[str]:
    """The methods of every route (also inside included routers) whose pattern matches
    ``path``."""
    methods: set[str] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:  # a router included by FastAPI, with its prefix
            context = getattr(route, "include_context", None)
            prefix = str(getattr(context, "prefix", "") or "")
            if path.startswith(prefix):
                methods |= _route_methods(inner.routes, path[len(prefix) :] or "/")
            continue
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return methods


class Methods:
    """ASGI middleware answering HEAD on every GET route (the GET's headers, no body) and
    OPTIONS on every route (``204`` with ``Allow``; ``404`` for a path no route serves).

    A CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is left to the
    CORS middleware outside this one.

    Parameters
    ----------
    app
        The wrapped app.
    router
        The app's router, whose routes say which methods a path takes.
    """

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    def allowed(self, scope: Scope) -> set[str]:
        """The methods the routes matching the request's path take."""
        methods = _route_methods(self.router.routes, scope["path"])
        if methods:
            methods |= {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
        return methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            headers = {k: v for k, v in scope.get("headers", ())}
            if b"access-control-request-method" in headers and b"origin" in headers:
                await self.app(scope, receive, send)  # a CORS preflight nobody allowed
                return
            methods = self.allowed(scope)
            if not methods:
                exc = NotFoundError(f"no route {scope['path']!r}")
                await json_error(status_for(exc), error_body(exc))(scope, receive, send)
                return
            allow = ", ".join(sorted(methods))
            await Response(status_code=204, headers={"Allow": allow})(scope, receive, send)
            return
        if method != "HEAD":
            await self.app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, bodiless)


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
    public_parts(settings.public_url)  # refuse a malformed public URL now, not per request
    service = Service(settings, store, refresh_seconds=refresh_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start_watching()
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
        refuse_unknown_parameters(request, ())
        base = public_base(request)
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
    def conformance(request: Request) -> Response:
        refuse_unknown_parameters(request, ())
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
    app.include_router(rollup.make_router(service))
    app.include_router(reach.make_router(service))
    app.include_router(edit.make_router(service))

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Methods, router=app.router)
    app.add_middleware(
        PublicHost, public_url=settings.public_url, allowed_hosts=settings.allowed_hosts
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app


def app_from_environment() -> FastAPI:
    """The app built from ``GRIDPLAN_*`` environment variables alone.

    What each worker process of ``gridplan serve --workers N`` runs (``uvicorn --factory
    gridplan.api.app:app_from_environment``): the store comes from ``GRIDPLAN_DATABASE_URL``,
    and each worker opens its own connection to it.
    """
    return create_app(Settings())
