"""Who may call the SDK-facing endpoints (wire protocol §9).

SDKs present ``Authorization: Bearer <sha256 of the signing key>``, with (TS) or without
(Python) the ``signkey-<env>-`` prefix. A server in cloud mode, or any server with a signing key
configured, requires it; a dev server without keys lets everyone in (TS then sends the literal
``Bearer undefined``, Python no header at all).
"""

from __future__ import annotations

from starlette.requests import Request

from headrace.protocol import bearer_matches
from services.core.settings import Settings


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
