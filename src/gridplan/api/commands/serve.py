"""``gridplan serve``: run the HTTP service with uvicorn."""

from __future__ import annotations

import os

import typer

from gridplan.api.console import DbOption, err_console, guarded, resolve_db
from gridplan.settings import Settings


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the CLI."""
    app.command("serve")(serve)


@guarded
def serve(
    db: str | None = DbOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port"),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level"),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Worker processes. Each opens its own connection to the store and sees a plan "
        "any other process stored at once (PostgreSQL LISTEN/NOTIFY, or the GeoPackage's "
        "change stamp).",
    ),
) -> None:
    """Serve the HTTP API (OGC API Features, /locate, plans, scenarios, maps) on a store.

    Settings other than the store come from GRIDPLAN_* environment variables (for example
    GRIDPLAN_API_TOKEN enables writes, GRIDPLAN_CORS_ORIGINS='["https://example.org"]').
    """
    import uvicorn

    from gridplan.api.app import create_app
    from gridplan.data.store.base import open_store

    settings = Settings()
    settings = settings.model_copy(update={"database_url": resolve_db(db, settings)})
    store = open_store(settings.database_url, create=False)  # fails fast, with a one-line reason
    err_console.print(
        f"gridplan serving {settings.database_url} on http://{host}:{port}/ "
        f"with {workers} worker{'s' if workers > 1 else ''} "
        f"(writes {'enabled' if settings.api_token else 'disabled: no GRIDPLAN_API_TOKEN'})",
        markup=False,
        highlight=False,
    )
    if workers > 1:
        # each worker process builds its own app (and store connection) from the environment
        store.close()
        os.environ["GRIDPLAN_DATABASE_URL"] = settings.database_url
        uvicorn.run(
            "gridplan.api.app:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
        )
        return
    app = create_app(settings, store=store)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        store.close()
