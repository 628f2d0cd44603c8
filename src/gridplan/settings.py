"""Settings: one object, built explicitly and passed in; never created at import time.

Environment variables use the prefix ``GRIDPLAN_`` (``GRIDPLAN_DATABASE_URL`` and so on).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridplan import DEFAULT_STORE


class Settings(BaseSettings):
    """Service and command-line settings.

    Parameters
    ----------
    database_url
        A PostgreSQL URL (``postgresql+psycopg://user@host/db``) or a ``.gpkg`` path.
    api_token
        Bearer token required for writes over HTTP; ``None`` disables writes.
    cors_origins
        Origins allowed by CORS.
    max_batch_points
        Largest ``POST /locate`` batch.
    max_body_bytes
        Largest request body accepted.
    page_limit_default, page_limit_max
        Paging of OGC API Features item lists.
    public_url
        The base URL clients reach the service at (``https://maps.example.org/gridplan``);
        every link the HTTP service writes starts with it. ``None``: links use the request's
        ``Host`` when it is one of ``allowed_hosts``, else the address the connection came in
        on, so an arbitrary ``Host`` header is never echoed.
    allowed_hosts
        ``Host`` values (names, without port) trusted to build links when ``public_url`` is
        unset, besides ``localhost``, ``127.0.0.1``, ``::1`` and the server's own address.
    walking_speed
        Metres per minute that turn ``minutes=`` into a walking distance
        (``GET /plans/{id}/reach``; default 50: GB 50180-2018's 10-minute circle is 500 m).
    """

    model_config = SettingsConfigDict(env_prefix="GRIDPLAN_", extra="ignore")

    database_url: str = DEFAULT_STORE
    api_token: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_batch_points: int = 100_000
    max_body_bytes: int = 20_000_000
    page_limit_default: int = 100
    page_limit_max: int = 10_000
    public_url: str | None = None
    allowed_hosts: list[str] = Field(default_factory=list)
    walking_speed: float = Field(default=50.0, gt=0)
