from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import headrace
from headrace.asgi import serve
from headrace.protocol import (
    bearer_hash,
    build_call_request,
    canonicalize,
    parse_register,
    sign,
    verify_signature,
)

from ._demo import SIGNING_KEY, FakeServer, demo_functions, make_client

EVENT = {"name": "demo/start", "data": {"who": "world"}, "id": "01JEVT", "ts": 1700000000000}
URL = "http://app.test/api/headrace"


def _body(**overrides: Any) -> bytes:
    kwargs: dict[str, Any] = {
        "run_id": "01JRUN",
        "event": EVENT,
        "events": [EVENT],
        "steps": {},
        "stack": [],
        "attempt": 0,
        "max_attempts": 5,
        "disable_immediate_execution": False,
        "request_version": -1,
    }
    kwargs.update(overrides)
    return canonicalize(build_call_request(**kwargs))


def _app(server: FakeServer, **client_kwargs: Any) -> tuple[headrace.Client, httpx.AsyncClient]:
    client = make_client(server, **client_kwargs)
    app = serve(client, demo_functions(client))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test")
    return client, http


def _assert_sdk_headers(response: httpx.Response) -> None:
    assert response.headers["x-inngest-sdk"] == "headrace-py:v0.1.0"
    assert response.headers["x-inngest-req-version"] == "2"
    assert response.headers["x-inngest-sdk-handled"] == "true"
    assert response.headers["content-type"] == "application/json"


async def test_get_introspection_dev() -> None:
    _, http = _app(FakeServer())
    async with http:
        response = await http.get("/api/headrace")
    assert response.status_code == 200
    _assert_sdk_headers(response)
    assert response.json() == {
        "schema_version": "2024-05-24",
        "function_count": 4,
        "has_event_key": False,
        "has_signing_key": False,
        "has_signing_key_fallback": False,
        "mode": "dev",
    }


async def test_get_introspection_cloud_needs_signature() -> None:
    _, http = _app(FakeServer(), is_dev=False, signing_key=SIGNING_KEY, event_key="ek")
    async with http:
        unsigned = await http.get("/api/headrace")
        signed = await http.get(
            "/api/headrace", headers={"x-inngest-signature": sign(b"", SIGNING_KEY)}
        )
    assert unsigned.status_code == 401
    assert unsigned.json() == {"message": "Unauthorized"}
    assert "x-inngest-sdk" not in unsigned.headers
    assert signed.status_code == 200
    body = signed.json()
    assert body["mode"] == "cloud" and body["authentication_succeeded"] is True
    assert body["signing_key_hash"] == bearer_hash(SIGNING_KEY)
    assert verify_signature(
        signed.content, signed.headers["x-inngest-signature"], [SIGNING_KEY], canonical=False
    )


async def test_post_runs_a_step_dev_mode() -> None:
    _, http = _app(FakeServer())
    async with http:
        response = await http.post(
            "/api/headrace?fnId=demo-app-two-steps-sleep&stepId=step", content=_body()
        )
    assert response.status_code == 206
    _assert_sdk_headers(response)
    [op] = response.json()
    assert op["op"] == "StepRun" and op["id"] == "e0996a37c13d44c3b06074939d43fa3759bd32c1"
    assert op["data"] == {"a": 1}
    assert "x-inngest-signature" not in response.headers


async def test_post_cloud_mode_verifies_and_signs() -> None:
    fallback = "signkey-test-" + "ab" * 32
    _, http = _app(
        FakeServer(), is_dev=False, signing_key=SIGNING_KEY, signing_key_fallback=fallback
    )
    body = _body()
    path = "/api/headrace?fnId=demo-app-two-steps-sleep&stepId=step"
    async with http:
        unsigned = await http.post(path, content=body)
        bad = await http.post(path, content=body, headers={"x-inngest-signature": "t=1&s=00"})
        by_fallback = await http.post(
            path, content=body, headers={"x-inngest-signature": sign(body, fallback)}
        )
        # A pretty body signed over its JCS form is accepted (§9).
        pretty = json.dumps(json.loads(body), indent=2).encode()
        ok = await http.post(
            path, content=pretty, headers={"x-inngest-signature": sign(body, SIGNING_KEY)}
        )
    assert unsigned.status_code == 401 and bad.status_code == 401
    assert unsigned.json() == {"message": "Unauthorized"}
    assert by_fallback.status_code == 206
    assert ok.status_code == 206
    assert verify_signature(
        ok.content, ok.headers["x-inngest-signature"], [SIGNING_KEY], canonical=False
    )


async def test_probe_trust() -> None:
    _, http = _app(FakeServer())
    async with http:
        response = await http.post("/api/headrace?probe=trust", content=b"")
    assert response.status_code == 200
    assert response.json() is None


@pytest.mark.parametrize(
    ("query", "code"),
    [("", "query_param_missing"), ("?fnId=nope", "function_not_found")],
)
async def test_post_sdk_level_errors(query: str, code: str) -> None:
    _, http = _app(FakeServer())
    async with http:
        response = await http.post("/api/headrace" + query, content=_body())
    assert response.status_code == 500
    assert response.json()["code"] == code


async def test_post_bad_body() -> None:
    _, http = _app(FakeServer())
    async with http:
        response = await http.post("/api/headrace?fnId=demo-app-errors", content=b'{"ctx":1}')
    assert response.status_code == 500
    assert "ctx" in response.json()["message"]


async def test_unknown_path_and_method() -> None:
    _, http = _app(FakeServer())
    async with http:
        assert (await http.get("/elsewhere")).status_code == 404
        assert (await http.delete("/api/headrace")).status_code == 405


async def test_put_registers_functions() -> None:
    server = FakeServer()
    _, http = _app(server)
    async with http:
        response = await http.put("/api/headrace?deployId=dep-1")
    assert response.status_code == 200
    assert response.json() == {"message": "Successfully registered", "modified": True}
    [register] = server.requests
    assert str(register.url) == "http://server.test/fn/register?deployId=dep-1"
    assert register.headers["x-inngest-sdk"] == "headrace-py:v0.1.0"
    assert "authorization" not in register.headers
    payload = json.loads(register.content)
    assert payload["appName"] == "demo-app" and payload["deployType"] == "ping"
    reg = parse_register(payload)
    assert reg.url == URL
    fns = {f.id: f for f in reg.functions}
    assert fns["demo-app-errors"].retries == 2
    assert fns["demo-app-parallel"].url == URL + "?fnId=demo-app-parallel&stepId=step"


async def test_put_cloud_sends_bearer_and_uses_serve_origin() -> None:
    server = FakeServer()
    client = make_client(server, is_dev=False, signing_key=SIGNING_KEY)
    app = serve(client, demo_functions(client), serve_origin="https://public.example")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.test"
    ) as http:
        response = await http.put("/api/headrace", headers={"x-inngest-server-kind": "cloud"})
        mismatch = await http.put("/api/headrace", headers={"x-inngest-server-kind": "dev"})
    assert response.status_code == 200
    [register] = server.requests
    assert register.headers["authorization"] == f"Bearer {bearer_hash(SIGNING_KEY)}"
    assert json.loads(register.content)["url"] == "https://public.example/api/headrace"
    assert mismatch.status_code == 400
    assert mismatch.json()["code"] == "server_kind_mismatch"


async def test_put_surfaces_register_failure() -> None:
    server = FakeServer()
    server.register_status = 400
    _, http = _app(server)
    async with http:
        response = await http.put("/api/headrace")
    assert response.status_code == 400
    assert response.json() == {"message": "bad config", "modified": False}


async def test_use_api_fetches_run_data() -> None:
    server = FakeServer()
    client = make_client(server)

    @client.create_function(fn_id="batch", trigger=headrace.TriggerEvent("demo/batch"))
    async def batch(ctx: headrace.Context, step: headrace.Step) -> int:
        return len(ctx.events)

    app = serve(client, [batch])
    body = _body(events=[], use_api=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.test"
    ) as http:
        response = await http.post("/api/headrace?fnId=demo-app-batch&stepId=step", content=body)
    assert response.status_code == 200
    assert response.json() == 2
    assert [r.url.path for r in server.requests] == [
        "/v0/runs/01JRUN/batch",
        "/v0/runs/01JRUN/actions",
    ]


async def test_lifespan_is_answered() -> None:
    client = make_client(FakeServer())
    app = serve(client, [])
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_serving_a_function_twice_or_of_another_app_fails() -> None:
    client = make_client(FakeServer())
    fns = demo_functions(client)
    with pytest.raises(ValueError, match="twice"):
        serve(client, [fns[0], fns[0]])
    other = headrace.Client("other", is_dev=True)
    with pytest.raises(ValueError, match="belongs to app"):
        serve(other, fns)
