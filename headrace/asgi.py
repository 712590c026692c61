"""Serve functions from any ASGI server: ``app = serve(client, [fn1, fn2])``.

One URL answers the server (§2): ``GET`` introspection, ``PUT`` sync (the SDK then registers
its functions with ``POST {base_url}/fn/register``), ``POST ?fnId=…&stepId=…`` a call request,
``POST ?probe=trust`` a trust probe. In cloud mode (a signing key is set) requests must carry a
valid ``X-Inngest-Signature`` and replies are signed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx

from ._execution import CallResponse, dump_json, error_response, execute
from ._settings import SDK_HEADER, SDK_NAME, SDK_VERSION
from .client import Client
from .function import Function
from .protocol import (
    REQUEST_VERSION,
    CallRequest,
    ProtocolError,
    bearer_hash,
    parse_call_request,
    sign,
    verify_signature,
)
from .protocol import headers as h

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

logger = logging.getLogger(__name__)

DEFAULT_SERVE_PATH = "/api/headrace"
_TIMEOUT = httpx.Timeout(30.0)


class HeadraceApp:
    """The ASGI application ``serve`` returns."""

    def __init__(
        self,
        client: Client,
        functions: Sequence[Function],
        *,
        serve_path: str = DEFAULT_SERVE_PATH,
        serve_origin: str | None = None,
        framework: str = "asgi",
        check_path: bool = True,
    ) -> None:
        self.client = client
        self.functions: dict[str, Function] = {}
        for fn in functions:
            if fn.app_id != client.app_id:
                raise ValueError(f"function {fn.id!r} belongs to app {fn.app_id!r}")
            if fn.id in self.functions:
                raise ValueError(f"function id {fn.id!r} is served twice")
            self.functions[fn.id] = fn
        self.serve_path = "/" + serve_path.strip("/")
        self.serve_origin = serve_origin or client.settings.serve_origin
        self.framework = framework
        self.check_path = check_path

    @property
    def _kind(self) -> str:
        return h.SERVER_KIND_DEV if self.client.is_dev else h.SERVER_KIND_CLOUD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.check_path and scope["path"].rstrip("/") != self.serve_path:
            await _send(
                send, 404, [(b"content-type", b"application/json")], b'{"message":"Not Found"}'
            )
            return
        body = await _read_body(receive)
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        method = scope["method"]
        if method == "GET":
            reply = await self._introspect(headers)
        elif method == "PUT":
            reply = await self._sync(scope, headers, query)
        elif method == "POST":
            reply = await self._call(body, headers, query)
        else:
            reply = CallResponse(405, {}, b'{"message":"Method Not Allowed"}')
        await self._respond(send, reply)

    # -- replies -----------------------------------------------------------------------------

    def _authorized(self, body: bytes, headers: dict[str, str]) -> bool:
        if self.client.is_dev:
            return True
        keys = self.client.settings.signing_keys
        return verify_signature(body, headers.get("x-inngest-signature"), keys)

    async def _respond(self, send: Send, reply: CallResponse) -> None:
        if reply.status == 401:
            out = {"content-type": "application/json", h.SDK_HANDLED.lower(): "true"}
        else:
            out = {
                "content-type": "application/json",
                h.SDK.lower(): SDK_HEADER,
                h.REQ_VERSION.lower(): str(REQUEST_VERSION),
                h.SDK_HANDLED.lower(): "true",
                h.FRAMEWORK.lower(): self.framework,
                h.EXPECTED_SERVER_KIND.lower(): self._kind,
            }
            if self.client.settings.env:
                out[h.ENV.lower()] = self.client.settings.env
            out.update({k.lower(): v for k, v in reply.headers.items()})
            key = self.client.settings.signing_key
            if key and not self.client.is_dev:
                out[h.SIGNATURE.lower()] = sign(reply.body, key)
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out.items()]
        await _send(send, reply.status, raw, reply.body)

    async def _introspect(self, headers: dict[str, str]) -> CallResponse:
        s = self.client.settings
        body: dict[str, Any] = {
            "schema_version": "2024-05-24",
            "function_count": len(self.functions),
            "has_event_key": bool(s.event_key) and not s.is_dev,
            "has_signing_key": s.signing_key is not None,
            "has_signing_key_fallback": s.signing_key_fallback is not None,
            "mode": self._kind,
        }
        if not s.is_dev:
            if not self._authorized(b"", headers):
                return _unauthorized()
            body.update(
                {
                    "api_origin": s.base_url,
                    "app_id": s.app_id,
                    "authentication_succeeded": True,
                    "env": s.env,
                    "event_api_origin": s.base_url,
                    "framework": self.framework,
                    "sdk_language": "py",
                    "sdk_version": SDK_VERSION,
                    "serve_origin": self.serve_origin,
                    "serve_path": self.serve_path,
                    "signing_key_hash": bearer_hash(s.signing_key) if s.signing_key else None,
                    "signing_key_fallback_hash": (
                        bearer_hash(s.signing_key_fallback) if s.signing_key_fallback else None
                    ),
                }
            )
        return CallResponse(200, {}, dump_json(body))

    def app_url(self, scope: Scope, headers: dict[str, str]) -> str:
        """Where the server should call us: the serve origin, else the URL of this request."""
        if self.serve_origin:
            return self.serve_origin.rstrip("/") + self.serve_path
        host = headers.get("host")
        if host is None:
            server = scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        path = scope.get("root_path", "") + scope["path"]
        return f"{scope.get('scheme', 'http')}://{host}{path}"

    async def _sync(
        self, scope: Scope, headers: dict[str, str], query: dict[str, str]
    ) -> CallResponse:
        server_kind = headers.get("x-inngest-server-kind")
        if server_kind is not None and server_kind != self._kind:
            wanted = "Dev Server" if server_kind == h.SERVER_KIND_DEV else "Cloud"
            message = f"Sync rejected since it's from a {wanted} but expected {self._kind}"
            return CallResponse(
                400, {}, dump_json({"code": "server_kind_mismatch", "message": message})
            )
        url = self.app_url(scope, headers)
        payload = {
            "appName": self.client.app_id,
            "deployType": "ping",
            "framework": self.framework,
            "sdk": f"{SDK_NAME}:v{SDK_VERSION}",
            "v": "0.1",
            "url": url,
            "capabilities": {"trust_probe": "v1"},
            "functions": [fn.config(url) for fn in self.functions.values()],
        }
        register = f"{self.client.settings.base_url}/fn/register"
        if query.get("deployId"):
            register += "?" + urlencode({"deployId": query["deployId"]})
        try:
            response = await self._post_register(register, payload)
        except httpx.HTTPError as err:
            message = f"cannot reach {register}: {err}"
            logger.warning("sync failed: %s", message)
            return CallResponse(500, {}, dump_json({"message": message, "modified": False}))
        try:
            reply = response.json()
        except ValueError:
            reply = {}
        reply = reply if isinstance(reply, dict) else {}
        if response.status_code != 200:
            message = str(reply.get("error") or response.text[:500] or response.status_code)
            logger.warning("sync rejected (%s): %s", response.status_code, message)
            status = response.status_code if response.status_code >= 400 else 500
            return CallResponse(status, {}, dump_json({"message": message, "modified": False}))
        body = {"message": "Successfully registered", "modified": bool(reply.get("modified"))}
        return CallResponse(200, {}, dump_json(body))

    async def _post_register(self, url: str, payload: dict[str, Any]) -> httpx.Response:
        base = {
            "content-type": "application/json",
            h.SDK: SDK_HEADER,
            h.REQ_VERSION: str(REQUEST_VERSION),
            h.FRAMEWORK: self.framework,
            h.EXPECTED_SERVER_KIND: self._kind,
        }
        keys = self.client.settings.signing_keys or (None,)
        async with httpx.AsyncClient(
            timeout=_TIMEOUT, transport=self.client.async_transport()
        ) as http:
            response: httpx.Response | None = None
            for key in keys:
                headers = dict(base)
                if key:
                    headers[h.AUTHORIZATION] = f"Bearer {bearer_hash(key)}"
                response = await http.post(url, content=dump_json(payload), headers=headers)
                if response.status_code not in (401, 403):
                    break
            assert response is not None
            return response

    async def _call(
        self, body: bytes, headers: dict[str, str], query: dict[str, str]
    ) -> CallResponse:
        if not self._authorized(body, headers):
            return _unauthorized()
        if query.get("probe") == "trust":
            return CallResponse(200, {}, b"null")
        fn_id = query.get("fnId")
        if not fn_id:
            return error_response(
                "query_param_missing", "missing fnId query param", "QueryParamMissingError"
            )
        fn = self.functions.get(fn_id)
        if fn is None:
            return error_response(
                "function_not_found", f"function {fn_id} not found", "FunctionNotFoundError"
            )
        try:
            request = parse_call_request(json.loads(body))
            if request.use_api:
                request = await self._fetch_from_api(request)
        except (ProtocolError, ValueError) as err:
            return error_response("unknown", str(err), type(err).__name__)
        except httpx.HTTPError as err:
            return error_response("unknown", f"cannot load run data: {err}", "HTTPError")
        step_id = query.get("stepId") or headers.get(h.STEP_ID.lower()) or "step"
        return await execute(self.client, fn, request, step_id=step_id)

    async def _fetch_from_api(self, request: CallRequest) -> CallRequest:
        """Large runs come without events and steps; fetch them (§5.1, ``use_api``)."""
        s = self.client.settings
        headers = {h.SDK: SDK_HEADER}
        if s.signing_key:
            headers[h.AUTHORIZATION] = f"Bearer {bearer_hash(s.signing_key)}"
        base = f"{s.base_url}/v0/runs/{request.run_id}"
        async with httpx.AsyncClient(
            timeout=_TIMEOUT, transport=self.client.async_transport()
        ) as http:
            batch = await http.get(f"{base}/batch", headers=headers)
            actions = await http.get(f"{base}/actions", headers=headers)
        batch.raise_for_status()
        actions.raise_for_status()
        events, steps = batch.json(), actions.json()
        if not isinstance(events, list) or not isinstance(steps, dict):
            raise ProtocolError("run data from the API has the wrong shape")
        merged = parse_call_request(
            {
                "ctx": {"run_id": request.run_id, "stack": {"stack": request.stack}},
                "event": request.event,
                "events": events,
                "steps": steps,
            }
        )
        return dataclasses.replace(request, events=merged.events, steps=merged.steps)


def _unauthorized() -> CallResponse:
    return CallResponse(401, {}, b'{"message":"Unauthorized"}')


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def serve(
    client: Client,
    functions: Sequence[Function],
    *,
    serve_path: str = DEFAULT_SERVE_PATH,
    serve_origin: str | None = None,
) -> HeadraceApp:
    """An ASGI app serving ``functions`` at ``serve_path``.

    >>> app = serve(client, [welcome])  # then: uvicorn module:app  # doctest: +SKIP
    """
    return HeadraceApp(client, functions, serve_path=serve_path, serve_origin=serve_origin)
