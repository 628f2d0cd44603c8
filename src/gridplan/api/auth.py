"""Bearer-token authorisation of writes. Reads are open.

A write needs ``Authorization: Bearer <settings.api_token>``; with no token configured, writes
are disabled. The token is compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gridplan.errors import AuthError
from gridplan.settings import Settings


def check_bearer(header: str | None, token: str | None) -> None:
    """Accept ``header`` if it carries ``token``.

    Parameters
    ----------
    header
        The ``Authorization`` header, or ``None``.
    token
        The configured token; ``None`` disables writes.

    Raises
    ------
    AuthError
        If writes are disabled, the header is missing or malformed, or the token is wrong.

    Examples
    --------
    >>> check_bearer("Bearer s3cret", "s3cret")
    >>> check_bearer("Bearer nope", "s3cret")
    Traceback (most recent call last):
    ...
    gridplan.errors.AuthError: the bearer token is not valid
    """
    if not token:
        raise AuthError("writes are disabled: the service has no API token configured")
    if not header:
        raise AuthError("this is a write: send Authorization: Bearer <token>")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise AuthError("the bearer token is not valid")


def writer(settings: Settings) -> Callable[[Request], None]:
    """A FastAPI dependency that lets a write through only with the configured token."""

    scheme = HTTPBearer(auto_error=False, description="The service's API token (writes only)")

    def require_writer(
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Depends(scheme),  # noqa: B008
    ) -> None:
        check_bearer(request.headers.get("authorization"), settings.api_token)

    return require_writer
