from __future__ import annotations

import httpx
from fastapi import FastAPI

import headrace.fastapi
from headrace.protocol import build_call_request, canonicalize

from ._demo import FakeServer, demo_functions, make_client


async def test_fastapi_routes_all_three_methods() -> None:
    server = FakeServer()
    client = make_client(server)
    app = FastAPI()
    headrace.fastapi.serve(app, client, demo_functions(client), serve_path="/api/inngest")
    event = {"name": "demo/errors", "data": {"mode": "fn"}, "ts": 1}
    body = build_call_request(
        run_id="r",
        event=event,
        events=[event],
        steps={},
        stack=[],
        attempt=0,
        max_attempts=3,
        disable_immediate_execution=False,
        request_version=-1,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.test"
    ) as http:
        get = await http.get("/api/inngest")
        put = await http.put("/api/inngest")
        post = await http.post(
            "/api/inngest?fnId=demo-app-errors&stepId=step", content=canonicalize(body)
        )
    assert get.status_code == 200 and get.json()["function_count"] == 4
    assert get.headers["x-inngest-framework"] == "fast_api"
    assert put.status_code == 200
    assert server.requests[0].url.path == "/fn/register"
    assert post.status_code == 500
    assert post.json()["message"] == "function-level failure"
    assert "x-inngest-no-retry" not in post.headers
