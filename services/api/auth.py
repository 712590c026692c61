"""Who may call the API (wire protocol §9 for the SDK-facing endpoints).

SDKs present ``Authorization: Bearer <sha256 of the signing key>``, with (TS) or without
(Python) the ``signkey-<env>-`` prefix. A server in cloud mode, or any server with a signing key
configured, requires it; a dev server without keys lets everyone in (TS then sends the literal
``Bearer undefined``, Python no header at all).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from headrace.protocol import bearer_matches
from services.core.settings import Settings

Handler = Callable[[Request], Awaitable[Response]]


def auth_required(settings: Settings) -> bool:
    return settings.server_kind == "cloud" or bool(settings.signing_keys)


def unauthorized_reason(request: Request, settings: Settings) -> str | None:
    """None when the request may proceed, else why it may not."""
    if not auth_required(settings):
        return None
    if not settings.signing_keys:
        return "unauthorized: this server runs in cloud mode but has no signing key configured"
    header = request.headers.get("authorization")
    if not header:
        return "unauthorized: missing Authorization: Bearer <signing key hash>"
    if not bearer_matches(header, settings.signing_keys):
        return "unauthorized: the bearer token does not match this server's signing key"
    return None


def rest_unauthorized_reason(request: Request, settings: Settings) -> str | None:
    """The REST API (``/v1``) takes the same bearer as the SDKs, or the signing key itself
    (``Authorization: Bearer signkey-prod-…``), whenever the SDK endpoints require one."""
    header = request.headers.get("authorization") or ""
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if token and any(hmac.compare_digest(token, key) for key in settings.signing_keys):
        return None
    return unauthorized_reason(request, settings)


def rest_guard(settings: Settings, handler: Handler) -> Handler:
    """``handler`` behind the REST API's bearer check: 401 with the reason when it fails."""

    async def guarded(request: Request) -> Response:
        reason = rest_unauthorized_reason(request, settings)
        if reason is not None:
            return JSONResponse({"error": reason, "status": 401}, status_code=401)
        return await handler(request)

    return guarded
