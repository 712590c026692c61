"""``POST /fn/register`` checks that need no database, and the mapping to the model."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from headrace.protocol import parse_register
from services.api.sync import to_app
from services.core.model import Trigger
from services.core.settings import Settings

from ._fakes import FakeAppStore, api_client, register_call

KEY = "signkey-test-" + "12" * 32
KEY_HASH = hashlib.sha256(bytes.fromhex("12" * 32)).hexdigest()


async def register(
    body: Any,
    settings: Settings | None = None,
    headers: dict[str, str] | None = None,
    apps: FakeAppStore | None = None,
) -> httpx.Response:
    client, _ = api_client(settings, apps=apps)
    async with client:
        content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
        return await client.post("/fn/register", content=content, headers=headers or {})


async def test_expected_server_kind_mismatch_is_400() -> None:
    call = register_call("python")
    res = await register(call["body"], headers={"x-inngest-expected-server-kind": "cloud"})
    assert res.status_code == 400
    assert res.json()["error"] == (
        "sync rejected: the app expects a cloud server but this is a dev server"
    )


@pytest.mark.parametrize(
    ("settings", "header", "message"),
    [
        (Settings(server_kind="cloud", signing_key=KEY), None, "missing Authorization"),
        (Settings(server_kind="cloud", signing_key=KEY), "Bearer undefined", "does not match"),
        (Settings(signing_key=KEY), f"Bearer {'0' * 64}", "does not match"),
        (Settings(server_kind="cloud"), f"Bearer {KEY_HASH}", "no signing key configured"),
    ],
)
async def test_auth_is_required_in_cloud_mode_or_with_keys(
    settings: Settings, header: str | None, message: str
) -> None:
    apps = FakeAppStore()
    headers = {"authorization": header} if header else {}
    res = await register(register_call("python")["body"], settings, headers, apps)
    assert res.status_code == 401
    assert message in res.json()["error"]
    assert apps.apps == {}


@pytest.mark.parametrize("header", [f"Bearer {KEY_HASH}", f"Bearer signkey-test-{KEY_HASH}"])
async def test_both_bearer_forms_are_accepted(header: str) -> None:
    apps = FakeAppStore()
    settings = Settings(
        server_kind="cloud", signing_key="signkey-test-" + "ab" * 32, signing_key_fallback=KEY
    )
    res = await register(
        register_call("typescript")["body"],
        settings,
        {"authorization": header, "x-inngest-expected-server-kind": "cloud"},
        apps,
    )
    assert res.status_code == 200, res.text
    assert list(apps.apps) == ["demo-ts"]


async def test_dev_without_keys_accepts_bearer_undefined() -> None:
    apps = FakeAppStore()
    call = register_call("typescript")
    res = await register(call["body"], headers={"authorization": "Bearer undefined"}, apps=apps)
    assert res.status_code == 200
    assert res.json()["app_id"] == "demo-ts"
    assert res.json()["ok"] is True and res.json()["modified"] is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{oops", "invalid JSON"),
        ([1, 2], "register body must be a JSON object"),
        ({"appName": "a"}, "url must be a non-empty string"),
        ({"url": "http://x/api/inngest"}, "appName must be a non-empty string"),
        (
            {"url": "http://x", "appName": "a", "functions": [{"id": "f", "triggers": []}]},
            "triggers must be a non-empty list",
        ),
    ],
)
async def test_bad_body_is_400_with_the_protocol_message(body: Any, message: str) -> None:
    apps = FakeAppStore()
    res = await register(body, apps=apps)
    assert res.status_code == 400
    assert message in res.json()["error"]
    assert apps.apps == {}


async def test_second_identical_sync_is_not_modified() -> None:
    apps = FakeAppStore()
    body = register_call("python")["body"]
    first = await register(body, apps=apps)
    second = await register(body, apps=apps)
    assert first.json()["modified"] is True
    assert second.json()["modified"] is False


@pytest.mark.parametrize("transcript", ["python", "typescript"])
def test_to_app_keeps_every_function_and_option(transcript: str) -> None:
    body = register_call(transcript)["body"]
    reg = parse_register(body)
    app = to_app(reg)
    assert app.id == reg.app_name
    assert "deployId" not in app.url
    assert app.sdk == body["sdk"]
    assert [f.id for f in app.functions] == [f["id"] for f in body["functions"]]
    for fn, raw in zip(app.functions, body["functions"], strict=True):
        assert fn.app_id == app.id
        assert fn.config == raw
        assert "deployId" not in fn.url and f"fnId={fn.id}" in fn.url
        assert all(isinstance(t, Trigger) for t in fn.triggers)
    failure = [f for f in app.functions if f.id.endswith("-failure")]
    if failure:
        assert failure[0].triggers[0].event == "inngest/function.failed"
