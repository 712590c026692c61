"""The demo app the recorded exchanges were made with, rewritten on the Headrace SDK."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
from typing import Any

import httpx

import headrace
from headrace import Context, Step

TRANSCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "protocol" / "transcripts"
SIGNING_KEY = "signkey-test-" + "12345678" * 8
NOW = dt.datetime(2026, 11, 22, 6, 47, 38, 750000, tzinfo=dt.UTC)
SENT_EVENT_ID = "01JEVENTID00000000000000001"


def load_transcript(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((TRANSCRIPTS / f"{name}.json").read_text())
    return data


def entry(entries: list[dict[str, Any]], label: str) -> dict[str, Any]:
    for e in entries:
        if e["label"] == label:
            return e
    raise KeyError(label)


class FakeServer:
    """The server side of the SDK's outgoing calls, as an httpx transport."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.register_status = 200
        self.event_failures = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.startswith("/e/"):
            if self.event_failures:
                self.event_failures -= 1
                return httpx.Response(503, json={"error": "busy"})
            count = len(json.loads(request.content))
            return httpx.Response(200, json={"ids": [SENT_EVENT_ID] * count, "status": 200})
        if path == "/fn/register":
            if self.register_status != 200:
                return httpx.Response(self.register_status, json={"error": "bad config"})
            return httpx.Response(200, json={"ok": True, "modified": True})
        if path.endswith("/batch"):
            return httpx.Response(200, json=[{"name": "demo/batch", "data": {"n": 1}, "ts": 1}] * 2)
        if path.endswith("/actions"):
            return httpx.Response(200, json={})
        return httpx.Response(404, json={"error": "not found"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def make_client(server: FakeServer, **kwargs: Any) -> headrace.Client:
    kwargs.setdefault("is_dev", True)
    kwargs.setdefault("base_url", "http://server.test")
    return headrace.Client("demo-app", transport=server.transport(), **kwargs)


def demo_functions(client: headrace.Client) -> list[headrace.Function]:
    @client.create_function(fn_id="two-steps-sleep", trigger=headrace.TriggerEvent("demo/start"))
    async def two_steps_sleep(ctx: Context, step: Step) -> Any:
        r1 = await step.run("first", lambda: {"a": 1})
        r2 = await step.run("second", lambda: "hello world")
        await step.sleep("nap", "2s")
        return {"r1": r1, "r2": r2, "attempt": ctx.attempt, "run_id": ctx.run_id}

    @client.create_function(fn_id="parallel", trigger=headrace.TriggerEvent("demo/parallel"))
    async def parallel(ctx: Context, step: Step) -> Any:
        p = await step.parallel(
            [lambda: step.run("p1", lambda: 10), lambda: step.run("p2", lambda: 20)]
        )
        after = await step.run("after", lambda: sum(p))
        return [list(p), after]

    @client.create_function(fn_id="misc-ops", trigger=headrace.TriggerEvent("demo/misc"))
    async def misc_ops(ctx: Context, step: Step) -> Any:
        evt = await step.wait_for_event(
            "wait-approval",
            event="demo/approved",
            if_exp="async.data.id == event.data.id",
            timeout=dt.timedelta(minutes=5),
        )
        ids = await step.send_event("send-it", {"name": "demo/sent", "data": {"x": 1}})
        out = await step.invoke(
            "call-child", function="two-steps-sleep", data={"who": "child"}, timeout="1m"
        )
        await step.sleep_until("until", dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
        evt_json = None
        if evt is not None:
            evt_json = {"data": evt.data, "id": evt.id, "name": evt.name, "ts": evt.ts}
        return {"evt": evt_json, "ids": ids, "out": out}

    @client.create_function(fn_id="errors", trigger=headrace.TriggerEvent("demo/errors"), retries=2)
    async def errors(ctx: Context, step: Step) -> Any:
        mode = ctx.event.data["mode"]
        if mode == "step":

            def boom() -> None:
                raise ValueError("step exploded")

            await step.run("boom", boom)
        elif mode == "step-nonretriable":

            def nr() -> None:
                raise headrace.NonRetriableError("no retry please")

            await step.run("nr", nr)
        elif mode == "fn":
            raise RuntimeError("function-level failure")
        elif mode == "nonretriable":
            raise headrace.NonRetriableError("fatal")
        elif mode == "retry-after":
            raise headrace.RetryAfterError("later", dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        elif mode == "repeat":
            await step.run("same", lambda: 1)
            await step.run("same", lambda: 2)
        elif mode == "nested":

            async def outer() -> int:
                return await step.run("inner", lambda: 1)

            await step.run("outer", outer)
        return "done"

    return [two_steps_sleep, parallel, misc_ops, errors]
