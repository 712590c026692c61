"""``POST /v1/apps``: the PUT to the app, the app calling back, and each way it can fail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from ._fakes import FakeAppStore, api_client, register_call

APP_URL = "http://127.0.0.1:8911/api/inngest"

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def with_app(
    handler_factory: Callable[[list[httpx.AsyncClient]], Handler],
) -> tuple[httpx.AsyncClient, FakeAppStore, list[httpx.Request]]:
    """An API client whose outgoing HTTP goes to a fake app built by ``handler_factory``; the
    fake app gets the API's own client so it can call ``/fn/register`` back."""
    apps = FakeAppStore()
    seen: list[httpx.Request] = []
    holder: list[httpx.AsyncClient] = []
    inner = handler_factory(holder)

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return await inner(request)

    client, _ = api_client(
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)), apps=apps
    )
    holder.append(client)
    return client, apps, seen


def python_app(holder: list[httpx.AsyncClient]) -> Handler:
    """Like the Python SDK: registers, then answers the PUT 200 with register's body."""

    async def handler(request: httpx.Request) -> httpx.Response:
        call = register_call("python")
        res = await holder[0].post("/fn/register", json=call["body"])
        return httpx.Response(200, content=res.content)

    return handler


async def test_sync_by_url_registers_and_returns_the_app() -> None:
    client, apps, seen = with_app(python_app)
    async with client:
        res = await client.post("/v1/apps", json={"url": APP_URL})
    assert res.status_code == 200, res.text
    app = res.json()["data"]
    assert app["id"] == "demo-app"
    assert app["url"] == APP_URL
    assert app["synced_at"].startswith("2026-01-01T00:00:01")
    assert [r.method for r in seen] == ["PUT"]
    assert seen[0].headers["x-inngest-server-kind"] == "dev"
    assert str(seen[0].url) == APP_URL


async def test_unreachable_app_is_502() -> None:
    def factory(_: list[httpx.AsyncClient]) -> Handler:
        async def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        return handler

    client, apps, _ = with_app(factory)
    async with client:
        res = await client.post("/v1/apps", json={"url": APP_URL})
    assert res.status_code == 502
    assert res.json()["error"] == f"cannot reach the app at {APP_URL}: connection refused"


async def test_non_2xx_answer_is_502_with_the_apps_message() -> None:
    def factory(_: list[httpx.AsyncClient]) -> Handler:
        async def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                400,
                json={
                    "code": "server_kind_mismatch",
                    "message": "Sync rejected since it's from a Dev Server but expected Cloud",
                },
            )

        return handler

    client, _, _ = with_app(factory)
    async with client:
        res = await client.post("/v1/apps", json={"url": APP_URL})
    assert res.status_code == 502
    assert "answered the sync request with 400" in res.json()["error"]
    assert "expected Cloud" in res.json()["error"]


async def test_rejected_registration_surfaces_although_the_put_said_200() -> None:
    def factory(holder: list[httpx.AsyncClient]) -> Handler:
        async def handler(request: httpx.Request) -> httpx.Response:
            res = await holder[0].post("/fn/register", json={"appname": "demo-app"})
            return httpx.Response(200, content=res.content)  # Python's swallowed failure

        return handler

    client, apps, _ = with_app(factory)
    async with client:
        res = await client.post("/v1/apps", json={"url": APP_URL})
    assert res.status_code == 400
    assert res.json()["error"] == (
        "the app's registration was rejected: register body: url must be a non-empty string"
    )
    assert apps.apps == {}


async def test_ts_style_failure_message_surfaces() -> None:
    def factory(_: list[httpx.AsyncClient]) -> Handler:
        async def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"message": "boom", "modified": False})

        return handler

    client, _, _ = with_app(factory)
    async with client:
        res = await client.post("/v1/apps", json={"url": APP_URL})
    assert res.status_code == 400
    assert res.json()["error"] == "the app's registration was rejected: boom"


async def test_app_that_never_registers_is_502_and_recorded_on_the_known_app() -> None:
    calls = {"n": 0}

    def factory(holder: list[httpx.AsyncClient]) -> Handler:
        inner = python_app(holder)

        async def handler(request: httpx.Request) -> httpx.Response:
            calls["n"] += 1
            if calls["n"] == 1:
                return await inner(request)
            return httpx.Response(200, text="hello from some other server")

        return handler

    client, apps, _ = with_app(factory)
    async with client:
        assert (await client.post("/v1/apps", json={"url": APP_URL})).status_code == 200
        res = await client.post("/v1/apps", json={"url": APP_URL})
        listed = (await client.get("/v1/apps")).json()["data"]
    assert res.status_code == 502
    assert "answered the sync request but did not register" in res.json()["error"]
    assert apps.errors["demo-app"] == res.json()["error"]
    assert listed[0]["error"] == res.json()["error"]
