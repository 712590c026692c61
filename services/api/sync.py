"""App sync: ``POST /fn/register`` (the SDK's side, wire protocol §3) and ``/v1/apps`` (ours).

Syncing by URL is out-of-band: we ``PUT`` the app's URL, the SDK answers by calling
``/fn/register`` with its whole config, and only then answers the PUT. The Python SDK answers
the PUT with whatever ``/fn/register`` replied, with status 200 even when registration failed
(§3.1), so the PUT's body is read for an ``error`` too.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from headrace.protocol import (
    EXPECTED_SERVER_KIND,
    SERVER_KIND,
    SIGNATURE,
    ProtocolError,
    RegisterRequest,
    parse_register,
    sign,
    strip_url_params,
)
from services.api.auth import unauthorized_reason
from services.api.replies import app_json, data, error
from services.core.errors import StoreError
from services.core.model import App, Function, Trigger
from services.core.publish import new_event_id
from services.core.settings import Settings
from services.core.store import AppStore

log = logging.getLogger(__name__)

TS_SUCCESS = "Successfully registered"


def to_app(reg: RegisterRequest) -> App:
    return App(
        id=reg.app_name,
        url=reg.url,
        sdk=reg.sdk or "",
        framework=reg.framework or "",
        functions=tuple(
            Function(
                id=fn.id,
                app_id=reg.app_name,
                name=fn.name,
                triggers=tuple(
                    Trigger(event=t.event, expression=t.expression, cron=t.cron, jitter=t.jitter)
                    for t in fn.triggers
                ),
                url=fn.url,
                retries=fn.retries,
                config=fn.config,
            )
            for fn in reg.functions
        ),
    )


class Sync:
    def __init__(self, settings: Settings, apps: AppStore, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.apps = apps
        self.http = http

    async def register(self, request: Request) -> Response:
        kind = self.settings.server_kind
        expected = request.headers.get(EXPECTED_SERVER_KIND)
        if expected and expected != kind:
            return error(
                f"sync rejected: the app expects a {expected} server but this is a {kind} server",
                400,
            )
        reason = unauthorized_reason(request, self.settings)
        if reason is not None:
            return error(reason, 401)
        try:
            reg = parse_register(json.loads(await request.body()))
        except ValueError as exc:  # ProtocolError and JSONDecodeError are both ValueErrors
            message = str(exc) if isinstance(exc, ProtocolError) else f"invalid JSON: {exc}"
            log.warning("registration rejected: %s", message)
            return error(message, 400)
        try:
            modified = await self.apps.sync(to_app(reg))
        except StoreError as exc:
            return error(f"could not store the app: {exc.message}", 500)
        log.info(
            "app %s synced from %s (%d functions, modified=%s)",
            reg.app_name,
            reg.url,
            len(reg.functions),
            modified,
        )
        return JSONResponse(
            {"ok": True, "modified": modified, "app_id": reg.app_name, "sync_id": new_event_id()}
        )

    async def list_apps(self, request: Request) -> Response:
        return data([app_json(row) for row in await self.apps.list_apps()])

    async def sync_url(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return error(f"invalid JSON: {exc}", 400)
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return error('body must be {"url": "http(s)://<the app\'s serve URL>"}', 400)
        registered_url = strip_url_params(url)
        before = await self._find(registered_url, None)
        headers = {SERVER_KIND: self.settings.server_kind}
        if self.settings.signing_key:
            headers[SIGNATURE] = sign(b"", self.settings.signing_key)
        try:
            res = await self.http.put(url, headers=headers, timeout=self.settings.app_timeout)
        except httpx.HTTPError as exc:
            return await self._fail(
                before, url, f"cannot reach the app at {url}: {_describe(exc)}", 502
            )
        reply = _json_object(res)
        if not res.is_success:
            detail = reply.get("message") or reply.get("error") or res.text[:300]
            return await self._fail(
                before,
                url,
                f"the app at {url} answered the sync request with {res.status_code}: {detail}",
                502,
            )
        rejected = reply.get("error") or (
            reply.get("message") if reply.get("message") not in (None, TS_SUCCESS) else None
        )
        if rejected:
            return await self._fail(
                before, url, f"the app's registration was rejected: {rejected}", 400
            )
        after = await self._find(registered_url, reply.get("app_id"))
        if after is None or (before is not None and after["synced_at"] == before["synced_at"]):
            return await self._fail(
                before,
                url,
                f"the app at {url} answered the sync request but did not register"
                " (is it an Inngest SDK app pointed at this server?)",
                502,
            )
        return data(app_json(after))

    async def _find(self, url: str, app_id: Any) -> dict[str, Any] | None:
        rows = await self.apps.list_apps()
        for row in rows:
            if isinstance(app_id, str) and row["id"] == app_id:
                return row
        for row in rows:
            if row["url"] == url:
                return row
        return None

    async def _fail(
        self, known: dict[str, Any] | None, url: str, message: str, status: int
    ) -> Response:
        log.warning("sync of %s failed: %s", url, message)
        if known is not None:
            await self.apps.record_error(known["id"], known["url"], message)
        return error(message, status)


def _json_object(res: httpx.Response) -> dict[str, Any]:
    try:
        value = res.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _describe(exc: httpx.HTTPError) -> str:
    return str(exc) or type(exc).__name__
