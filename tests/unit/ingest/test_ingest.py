"""The event gateway against a fake bus: every bad input gets its status and message, and
nothing reaches Kafka unless the whole request is valid."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from services.core.codec import decode_event
from services.core.errors import BusError
from services.core.metrics import Metrics
from services.core.model import Event
from services.core.service import Deps
from services.core.settings import Settings
from services.ingest import IngestService

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


class FakeBus:
    """Records what was sent; fails every send when ``fail`` is set."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[tuple[str, list[tuple[str | None, bytes]]]] = []

    async def send_many(self, topic: str, records: Sequence[tuple[str | None, bytes]]) -> None:
        if self.fail:
            raise BusError("broker down")
        self.sent.append((topic, list(records)))

    def events(self) -> list[Event]:
        return [decode_event(value) for _, records in self.sent for _, value in records]


class FixedClock:
    def now(self) -> datetime:
        return NOW


def make(bus: FakeBus | None = None, **overrides: Any) -> tuple[httpx.AsyncClient, FakeBus, Deps]:
    bus = bus or FakeBus()
    settings = Settings(events_topic="events.test", **overrides)
    deps = Deps(settings=settings, db=None, bus=bus, metrics=Metrics(), clock=FixedClock())  # type: ignore[arg-type]
    app = Starlette(routes=list(IngestService(deps).routes()))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest")
    return client, bus, deps


async def post(
    body: Any, key: str = "NO_EVENT_KEY_SET", **overrides: Any
) -> tuple[httpx.Response, FakeBus]:
    client, bus, _ = make(**overrides)
    async with client:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        res = await client.post(f"/e/{key}", content=content)
    return res, bus


async def test_one_event_object_is_accepted_with_defaults() -> None:
    res, bus = await post({"name": "demo/start"})
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == 200
    [event_id] = body["ids"]
    assert len(event_id) == 26
    [(topic, [(key, _)])] = bus.sent
    assert topic == "events.test"
    assert key == event_id
    [ev] = bus.events()
    assert ev == Event(id=event_id, name="demo/start", data={}, ts=NOW_MS, user={})


async def test_array_keeps_order_and_fields_and_sender_id_becomes_idempotency_key() -> None:
    events = [
        {"name": "a/one", "data": {"x": 1}, "ts": 1700000000000},
        {"name": "a/two", "data": {"y": [1, 2]}, "user": {"u": "z"}, "id": "sender-1", "v": "2"},
        {"name": "a/three", "data": None, "user": None, "ts": 0, "id": ""},
    ]
    res, bus = await post(events)
    assert res.status_code == 200
    ids = res.json()["ids"]
    assert len(set(ids)) == 3
    got = bus.events()
    assert [e.id for e in got] == ids
    assert got[0] == Event(id=ids[0], name="a/one", data={"x": 1}, ts=1700000000000)
    assert got[1] == Event(
        id=ids[1],
        name="a/two",
        data={"y": [1, 2]},
        ts=NOW_MS,
        user={"u": "z"},
        v="2",
        idempotency_key="sender-1",
    )
    assert got[2] == Event(id=ids[2], name="a/three", data={}, ts=NOW_MS)
    assert [k for _, records in bus.sent for k, _ in records] == [ids[0], "sender-1", ids[2]]
    assert ids != [ids[1]] * 3 and "sender-1" not in ids


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid JSON"),
        ("just a string", 400, "must be an event object or an array of events, not a string"),
        (42, 400, "not a number"),
        (None, 400, "not null"),
        ([], 400, "empty array"),
        ([{"name": "ok/one"}, "nope"], 400, "event 1: must be an object"),
        ([{"name": "ok/one"}, {"data": {}}], 400, "event 1: name is required"),
        ({"name": 7}, 400, "event 0: name is required"),
        ({"name": ""}, 400, "event 0: name is required"),
        ({"name": "   "}, 400, "event 0: name is required"),
        (
            {"name": "inngest/function.failed"},
            400,
            "event name 'inngest/function.failed' is reserved",
        ),
        ({"name": "x/y", "data": [1]}, 400, "event 0: data must be an object, not an array"),
        ({"name": "x/y", "data": "s"}, 400, "data must be an object"),
        ({"name": "x/y", "user": 3}, 400, "event 0: user must be an object, not a number"),
        ({"name": "x/y", "ts": "1700000000000"}, 400, "event 0: ts must be an integer"),
        ({"name": "x/y", "ts": 1.5}, 400, "ts must be an integer"),
        ({"name": "x/y", "ts": True}, 400, "ts must be an integer"),
        ({"name": "x/y", "ts": -1}, 400, "ts must not be negative"),
        ({"name": "x/y", "id": 12}, 400, "event 0: id must be a string, not a number"),
        ({"name": "x/y", "v": 1}, 400, "event 0: v must be a string"),
    ],
)
async def test_bad_input_is_rejected_and_nothing_is_sent(
    body: Any, status: int, message: str
) -> None:
    res, bus = await post(body)
    assert res.status_code == status
    assert res.json()["status"] == status
    assert message in res.json()["error"]
    assert bus.sent == []


async def test_one_bad_event_rejects_the_whole_request() -> None:
    events = [{"name": f"ok/{i}"} for i in range(10)] + [{"name": "bad", "data": 1}]
    res, bus = await post(events)
    assert res.status_code == 400
    assert "event 10: data must be an object" in res.json()["error"]
    assert bus.sent == []


async def test_too_many_events() -> None:
    res, bus = await post([{"name": "x/y"}] * 6, max_events_per_request=5)
    assert res.status_code == 400
    assert res.json()["error"] == "too many events: 6 > 5"
    assert bus.sent == []


async def test_default_limit_of_5000_events() -> None:
    res, bus = await post([{"name": "x/y"}] * 5001)
    assert res.status_code == 400
    assert "too many events: 5001 > 5000" in res.json()["error"]
    ok, bus = await post([{"name": "x/y"}] * 5000)
    assert ok.status_code == 200
    assert len(ok.json()["ids"]) == 5000


async def test_request_over_max_request_bytes() -> None:
    body = [{"name": "x/y", "data": {"pad": "x" * 500}}]
    res, bus = await post(body, max_request_bytes=100)
    assert res.status_code == 413
    assert "request body is over the limit of 100 bytes" in res.json()["error"]
    assert bus.sent == []


async def test_streamed_request_over_max_request_bytes_without_content_length() -> None:
    client, bus, _ = make(max_request_bytes=100)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b" " * 50

    async with client:
        res = await client.post("/e/k", content=chunks())
    assert res.status_code == 413
    assert bus.sent == []


async def test_event_over_max_event_bytes_names_its_index() -> None:
    events = [{"name": "x/small"}, {"name": "x/big", "data": {"pad": "x" * 300}}]
    res, bus = await post(events, max_event_bytes=200)
    assert res.status_code == 413
    assert "event 1: is" in res.json()["error"]
    assert "over the limit of 200 bytes" in res.json()["error"]
    assert bus.sent == []


async def test_large_request_of_many_large_events_is_accepted() -> None:
    events = [{"name": "x/big", "data": {"pad": "x" * (1024 * 1024)}} for _ in range(8)]
    res, bus = await post(events)
    assert res.status_code == 200
    assert len(bus.events()) == 8


async def test_wrong_event_key_is_401_when_keys_are_configured() -> None:
    res, bus = await post({"name": "x/y"}, key="wrong", event_keys=("good",))
    assert res.status_code == 401
    assert res.json()["status"] == 401
    assert "event key" in res.json()["error"]
    assert bus.sent == []
    ok, bus = await post({"name": "x/y"}, key="good", event_keys=("other", "good"))
    assert ok.status_code == 200


@pytest.mark.parametrize("key", ["NO_EVENT_KEY_SET", "anything", "undefined"])
async def test_any_key_is_accepted_without_configured_keys(key: str) -> None:
    res, _ = await post({"name": "x/y"}, key=key)
    assert res.status_code == 200


async def test_kafka_failure_is_503_and_claims_nothing() -> None:
    client, bus, deps = make(bus=FakeBus(fail=True))
    async with client:
        res = await client.post("/e/k", json=[{"name": "x/y"}])
    assert res.status_code == 503
    body = res.json()
    assert body["status"] == 503
    assert "ids" not in body
    assert "not accepted" in body["error"] and "retry" in body["error"]
    assert deps.metrics.events_accepted._value.get() == 0


async def test_metrics_count_accepted_and_rejected() -> None:
    client, _, deps = make(event_keys=("good",))
    async with client:
        await client.post("/e/good", json=[{"name": "x/y"}, {"name": "x/z"}])
        await client.post("/e/good", json={"name": 1})
        await client.post("/e/bad", json={"name": "x/y"})
    text = deps.metrics.render().decode()
    assert "headrace_events_accepted_total 2.0" in text
    assert 'headrace_events_rejected_total{reason="invalid"} 1.0' in text
    assert 'headrace_events_rejected_total{reason="bad_key"} 1.0' in text


async def test_get_is_not_allowed() -> None:
    client, _, _ = make()
    async with client:
        res = await client.get("/e/k")
    assert res.status_code == 405


async def test_publish_for_internal_producers_allows_reserved_names() -> None:
    bus = FakeBus()
    _, _, deps = make(bus=bus)
    service = IngestService(deps)
    ev = Event(id="01J0000000000000000000000A", name="inngest/function.finished", data={}, ts=1)
    await service.publish([ev])
    assert bus.events() == [ev]
