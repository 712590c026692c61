from __future__ import annotations

import base64
import json

import httpx
import pytest

import headrace
from headrace import _http
from headrace._settings import ClientSettings

from ._demo import SENT_EVENT_ID, SIGNING_KEY, FakeServer, make_client


def _resolve(environ: dict[str, str], **kwargs: object) -> ClientSettings:
    args: dict[str, object] = {
        "base_url": None,
        "event_key": None,
        "signing_key": None,
        "signing_key_fallback": None,
        "is_dev": None,
        "env": None,
    }
    args.update(kwargs)
    return ClientSettings.resolve("app", environ=environ, **args)  # type: ignore[arg-type]


def test_defaults_are_dev_mode() -> None:
    s = _resolve({})
    assert s.is_dev and s.base_url == "http://127.0.0.1:8288" and s.event_key == "dev"
    assert s.signing_keys == ()


def test_headrace_variables_win_over_inngest_ones() -> None:
    s = _resolve(
        {
            "HEADRACE_BASE_URL": "http://hr:1/",
            "INNGEST_BASE_URL": "http://inn:2",
            "INNGEST_SIGNING_KEY": SIGNING_KEY,
            "HEADRACE_EVENT_KEY": "ek",
            "INNGEST_ENV": "staging",
        }
    )
    assert s.base_url == "http://hr:1"
    assert s.signing_key == SIGNING_KEY and not s.is_dev
    assert s.event_key == "ek" and s.env == "staging"


def test_dev_flag_and_arguments() -> None:
    assert _resolve({"HEADRACE_DEV": "1", "HEADRACE_SIGNING_KEY": SIGNING_KEY}).is_dev
    assert not _resolve({"HEADRACE_DEV": "0", "HEADRACE_SIGNING_KEY": SIGNING_KEY}).is_dev
    # INNGEST_DEV=<url> means dev mode at that origin.
    s = _resolve({"INNGEST_DEV": "http://dev:8288"})
    assert s.is_dev and s.base_url == "http://dev:8288"
    s = _resolve({"HEADRACE_DEV": "1"}, signing_key=SIGNING_KEY, is_dev=False, base_url="x:1")
    assert not s.is_dev and s.base_url == "https://x:1"


async def test_send_posts_an_array_and_returns_ids() -> None:
    server = FakeServer()
    client = make_client(server, event_key="key-1", env="prod")
    ids = await client.send(
        [headrace.Event(name="a/b", data={"x": 1}, id="e1"), {"name": "c/d", "ts": 5}]
    )
    assert ids == [SENT_EVENT_ID, SENT_EVENT_ID]
    [request] = server.requests
    assert str(request.url) == "http://server.test/e/key-1"
    assert request.headers["x-inngest-env"] == "prod"
    body = json.loads(request.content)
    assert body[0]["id"] == "e1" and body[0]["data"] == {"x": 1}
    assert body[1] == {"name": "c/d", "data": {}, "ts": 5}


def test_send_sync_and_retry_on_5xx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "BACKOFF_SECONDS", 0.0)
    server = FakeServer()
    server.event_failures = 2
    client = make_client(server)
    assert client.send_sync({"name": "a/b"}) == [SENT_EVENT_ID]
    assert len(server.requests) == 3
    # Every retry carries the same id seed, so the server derives the same event ids.
    seeds = {r.headers["x-inngest-event-id-seed"] for r in server.requests}
    assert len(seeds) == 1
    ms, entropy = seeds.pop().split(",")
    assert int(ms) > 0 and len(base64.b64decode(entropy)) == 10


async def test_send_gives_up_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "BACKOFF_SECONDS", 0.0)
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, json={"error": "event key not found"})

    client = headrace.Client("a", is_dev=True, transport=httpx.MockTransport(refuse))
    with pytest.raises(headrace.SendEventError, match="401: event key not found"):
        await client.send({"name": "a/b"})
    assert len(calls) == 1  # a 4xx is final


async def test_send_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "BACKOFF_SECONDS", 0.0)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = headrace.Client("a", is_dev=True, transport=httpx.MockTransport(down))
    with pytest.raises(headrace.SendEventError, match="cannot reach"):
        await client.send({"name": "a/b"})


@pytest.mark.parametrize("events", [{"data": {}}, [{"name": ""}], [42]])
async def test_send_rejects_bad_events(events: object) -> None:
    client = make_client(FakeServer())
    with pytest.raises(headrace.SendEventError):
        await client.send(events)  # type: ignore[arg-type]
