"""An app that misbehaves in every way the executor has to survive.

Functions built with the SDK fail on purpose (a step that always raises, a NonRetriableError, a
step that fails once then succeeds). For the misbehaviour the SDK cannot produce, a thin ASGI
layer in front of the SDK handler answers the calls of some functions itself: a 200 whose body
is not JSON, a 200 without the SDK's headers, a reply slower than the server waits.

``GET /state`` shows what the app saw: calls per function id, and which failed runs the
``inngest/function.failed`` handler was told about (failed run id -> the handler's own run id).

Serve it with ``uvicorn tests.e2e.apps.bad_app:app``; functions live at ``/api/headrace``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

import headrace
from headrace.asgi import Receive, Scope, Send

APP_ID = "bad"
SERVE_PATH = "/api/headrace"
SLOW_SECONDS = 5.0  # longer than the server's app timeout in the tests

client = headrace.Client(app_id=APP_ID)

calls: Counter[str] = Counter()  # fnId -> POSTs received
step_tries: Counter[str] = Counter()  # run id -> executions of the flaky step
failures_seen: dict[str, str] = {}  # failed run id -> the failure handler's run id


class DeliberateError(RuntimeError):
    pass


@client.create_function(
    fn_id="always-fails", trigger=headrace.TriggerEvent(event="bad/always-fails"), retries=1
)
async def always_fails(ctx: headrace.Context, step: headrace.Step) -> str:
    def explode() -> None:
        raise DeliberateError(f"boom for {ctx.event.data.get('tag', '?')}")

    await step.run("explode", explode)
    return "unreachable"


@client.create_function(
    fn_id="non-retriable", trigger=headrace.TriggerEvent(event="bad/non-retriable"), retries=3
)
async def non_retriable(ctx: headrace.Context, step: headrace.Step) -> str:
    def check() -> None:
        raise headrace.NonRetriableError(
            f"order {ctx.event.data.get('order_id', '?')} no longer exists"
        )

    await step.run("check-order", check)
    return "unreachable"


@client.create_function(
    fn_id="flaky-once", trigger=headrace.TriggerEvent(event="bad/flaky-once"), retries=2
)
async def flaky_once(ctx: headrace.Context, step: headrace.Step) -> dict[str, Any]:
    def wobble() -> dict[str, Any]:
        step_tries[ctx.run_id] += 1
        if step_tries[ctx.run_id] == 1:
            raise DeliberateError("transient failure on the first try")
        return {"tries": step_tries[ctx.run_id]}

    result = await step.run("wobble", wobble)
    return {"wobble": result}


@client.create_function(fn_id="ok", trigger=headrace.TriggerEvent(event="bad/ok"), retries=0)
async def ok(ctx: headrace.Context, step: headrace.Step) -> dict[str, Any]:
    echoed = await step.run("echo", lambda: dict(ctx.event.data))
    return {"echo": echoed}


@client.create_function(
    fn_id="on-always-fails",
    trigger=headrace.TriggerEvent(
        event="inngest/function.failed",
        expression="event.data.function_id == 'bad-always-fails'",
    ),
    retries=0,
)
async def on_always_fails(ctx: headrace.Context, step: headrace.Step) -> dict[str, Any]:
    failed_run_id = str(ctx.event.data.get("run_id"))
    failures_seen[failed_run_id] = ctx.run_id
    return {"failed_run_id": failed_run_id, "error": ctx.event.data.get("error")}


# Functions registered like any other, whose calls the layer below answers itself.
def _never_called(fn_id: str, event: str) -> headrace.Function:
    @client.create_function(fn_id=fn_id, trigger=headrace.TriggerEvent(event=event), retries=1)
    async def handler(ctx: headrace.Context, step: headrace.Step) -> str:
        raise AssertionError(f"{fn_id} should have been answered before the SDK")

    return handler


garbage_json = _never_called("garbage-json", "bad/garbage-json")
no_sdk_headers = _never_called("no-sdk-headers", "bad/no-sdk-headers")
too_slow = _never_called("too-slow", "bad/too-slow")

FUNCTIONS = [
    always_fails,
    non_retriable,
    flaky_once,
    ok,
    on_always_fails,
    garbage_json,
    no_sdk_headers,
    too_slow,
]
sdk_app = headrace.asgi.serve(client, FUNCTIONS, serve_path=SERVE_PATH)

SDK_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-inngest-sdk", b"headrace:v0.1.0"),
    (b"x-inngest-req-version", b"1"),
]


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        await sdk_app(scope, receive, send)
        return
    path = scope["path"].rstrip("/")
    if path == "/state" and scope["method"] == "GET":
        state = {"calls": dict(calls), "failures_seen": failures_seen}
        await _send(send, 200, [(b"content-type", b"application/json")], json.dumps(state).encode())
        return
    if path != SERVE_PATH or scope["method"] != "POST":
        await sdk_app(scope, receive, send)
        return
    query = parse_qs(scope.get("query_string", b"").decode())
    fn_id = (query.get("fnId") or [""])[0]
    if fn_id:
        calls[fn_id] += 1
    if fn_id == garbage_json.id:
        await _drain(receive)
        await _send(send, 200, SDK_HEADERS, b"<html><body>502 Bad Gateway</body></html>")
    elif fn_id == no_sdk_headers.id:
        await _drain(receive)
        await _send(
            send, 200, [(b"content-type", b"text/plain")], b"hello from a proxy that ate the app"
        )
    elif fn_id == too_slow.id:
        await _drain(receive)
        await asyncio.sleep(SLOW_SECONDS)
        await _send(send, 200, SDK_HEADERS, b'"too late"')
    else:
        await sdk_app(scope, receive, send)
