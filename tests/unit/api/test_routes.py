"""Routing, JSON errors and the SDK endpoints' auth, without a database."""

from __future__ import annotations

import hashlib

from headrace.protocol import bearer_hash
from services.core.settings import Settings

from ._fakes import api_client

KEY = "signkey-prod-" + "ab" * 32
KEY_HASH = hashlib.sha256(bytes.fromhex("ab" * 32)).hexdigest()


async def test_unknown_route_is_json_404() -> None:
    client, _ = api_client()
    async with client:
        res = await client.get("/v1/nothing-here")
    assert res.status_code == 404
    assert res.json() == {"error": "not found: GET /v1/nothing-here", "status": 404}


async def test_wrong_method_is_json_405() -> None:
    client, _ = api_client()
    async with client:
        res = await client.delete("/v1/apps")
    assert res.status_code == 405
    assert res.json()["error"] == "method DELETE not allowed on /v1/apps"


async def test_v0_endpoints_need_the_bearer_when_keys_are_set() -> None:
    client, _ = api_client(Settings(signing_key=KEY))
    async with client:
        for path in ("/v0/runs/01JRUN/batch", "/v0/runs/01JRUN/actions"):
            res = await client.get(path)
            assert res.status_code == 401, path
            assert "missing Authorization" in res.json()["error"]
            res = await client.get(path, headers={"authorization": "Bearer nope"})
            assert res.status_code == 401, path


async def test_sync_url_needs_an_http_url() -> None:
    client, _ = api_client()
    async with client:
        for body in ({}, {"url": 3}, {"url": "ftp://x"}, [1]):
            res = await client.post("/v1/apps", json=body)
            assert res.status_code == 400
            assert "url" in res.json()["error"]
        res = await client.post("/v1/apps", content=b"{")
        assert res.status_code == 400
        assert "invalid JSON" in res.json()["error"]


async def test_rest_api_needs_the_key_when_keys_are_set() -> None:
    client, _ = api_client(Settings(signing_key=KEY))
    async with client:
        res = await client.get("/v1/apps")
        assert res.status_code == 401
        assert "missing Authorization" in res.json()["error"]
        res = await client.get("/v1/runs/x", headers={"authorization": "Bearer signkey-test-00"})
        assert res.status_code == 401
        assert "does not match" in res.json()["error"]
        # The key itself, or its hash as SDKs send it, gets through to the handler (whose
        # validation then answers without touching the missing database).
        for token in (KEY, bearer_hash(KEY)):
            res = await client.post(
                "/v1/apps", json={}, headers={"authorization": f"Bearer {token}"}
            )
            assert res.status_code == 400, token


async def test_rest_api_is_open_on_a_dev_server_without_keys() -> None:
    client, _ = api_client()
    async with client:
        res = await client.post("/v1/apps", json={})
    assert res.status_code == 400  # past auth, into validation
