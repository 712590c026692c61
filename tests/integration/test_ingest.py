"""The event gateway on real Apache Kafka: what it acknowledged is on the topic, decodable."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.core.bus import Bus, ConsumedRecord, Consumer, ensure_topics
from services.core.codec import decode_event, load_codec
from services.core.metrics import Metrics
from services.core.model import Event
from services.core.publish import new_event_id, publish_events
from services.core.service import Deps, build_app
from services.core.settings import Settings
from services.ingest import IngestService

pytestmark = pytest.mark.integration


@pytest.fixture
async def ingest(
    kafka_bootstrap: str, unique_topics: object
) -> AsyncIterator[tuple[httpx.AsyncClient, IngestService]]:
    topic = unique_topics.events  # type: ignore[attr-defined]
    await ensure_topics(kafka_bootstrap, [topic], partitions=2)
    bus = Bus(kafka_bootstrap)
    await bus.start()
    settings = Settings(kafka_bootstrap=kafka_bootstrap, events_topic=topic)
    deps = Deps(settings=settings, db=None, bus=bus, metrics=Metrics())  # type: ignore[arg-type]
    service = IngestService(deps)
    app = build_app([service], deps.metrics)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ingest"
    ) as client:
        yield client, service
    await bus.stop()


async def consume(bootstrap: str, topic: str, count: int, wait: float = 30) -> list[ConsumedRecord]:
    consumer = Consumer(bootstrap, [topic], group=f"test-{uuid.uuid4().hex[:8]}")
    await consumer.start()
    out: list[ConsumedRecord] = []
    deadline = time.monotonic() + wait
    try:
        while len(out) < count and time.monotonic() < deadline:
            out.extend(await consumer.fetch(timeout_ms=500))
    finally:
        await consumer.stop()
    return out


async def test_accepted_events_are_on_the_topic(
    ingest: tuple[httpx.AsyncClient, IngestService], kafka_bootstrap: str
) -> None:
    client, service = ingest
    sent = [
        {"name": "demo/start", "data": {"who": "world", "n": [1, 2.5, None]}, "ts": 1700000000000},
        {"name": "demo/second", "id": "sender-key", "user": {"email": "a@b.c"}, "v": "2"},
        {"name": "demo/ünïcode", "data": {"text": "日本語"}},
    ]
    before = int(time.time() * 1000)
    res = await client.post("/e/NO_EVENT_KEY_SET", json=sent)
    assert res.status_code == 200, res.text
    ids = res.json()["ids"]
    assert res.json()["status"] == 200

    topic = service.deps.settings.events_topic
    records = await consume(kafka_bootstrap, topic, 3)
    by_id = {decode_event(r.value).id: r for r in records}
    assert set(by_id) == set(ids)
    got = {i: decode_event(by_id[i].value) for i in ids}
    assert got[ids[0]] == Event(
        id=ids[0], name="demo/start", data={"who": "world", "n": [1, 2.5, None]}, ts=1700000000000
    )
    assert got[ids[1]].idempotency_key == "sender-key"
    assert got[ids[1]].user == {"email": "a@b.c"} and got[ids[1]].v == "2"
    assert got[ids[1]].ts >= before
    assert got[ids[2]].name == "demo/ünïcode" and got[ids[2]].data == {"text": "日本語"}
    assert by_id[ids[1]].key == b"sender-key"
    assert by_id[ids[0]].key == ids[0].encode()
    received = load_codec("event").decode(by_id[ids[0]].value)["received_at"]
    assert before <= received <= int(time.time() * 1000)


async def test_rejected_request_writes_nothing(
    ingest: tuple[httpx.AsyncClient, IngestService], kafka_bootstrap: str
) -> None:
    client, service = ingest
    res = await client.post("/e/k", json=[{"name": "ok/one"}, {"name": "inngest/x"}])
    assert res.status_code == 400
    ok = await client.post("/e/k", json={"name": "ok/marker"})
    assert ok.status_code == 200
    records = await consume(kafka_bootstrap, service.deps.settings.events_topic, 1)
    assert [decode_event(r.value).name for r in records] == ["ok/marker"]


async def test_internal_publish_writes_reserved_names(
    ingest: tuple[httpx.AsyncClient, IngestService], kafka_bootstrap: str
) -> None:
    _, service = ingest
    ev = Event(id=new_event_id(), name="inngest/function.finished", data={"run_id": "r"}, ts=5)
    await service.publish([ev])
    records = await consume(kafka_bootstrap, service.deps.settings.events_topic, 1)
    assert [decode_event(r.value) for r in records] == [ev]


async def test_kafka_refusing_the_write_is_503_and_claims_nothing(
    kafka_bootstrap: str, unique_topics: object
) -> None:
    topic = unique_topics.events  # type: ignore[attr-defined]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:  # a topic whose records may not exceed 2 kB: the broker itself refuses the batch
        await admin.create_topics(
            [NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "2000"})]
        )
    finally:
        await admin.close()
    bus = Bus(kafka_bootstrap)
    await bus.start()
    settings = Settings(kafka_bootstrap=kafka_bootstrap, events_topic=topic)
    deps = Deps(settings=settings, db=None, bus=bus, metrics=Metrics())  # type: ignore[arg-type]
    app = build_app([IngestService(deps)], deps.metrics)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingest"
        ) as client:
            res = await client.post("/e/k", json={"name": "x/y", "data": {"pad": "x" * 5000}})
    finally:
        await bus.stop()
    assert res.status_code == 503
    assert res.json()["status"] == 503
    assert "ids" not in res.json()
    assert "not accepted" in res.json()["error"] and "MessageSizeTooLarge" in res.json()["error"]
    assert await consume(kafka_bootstrap, topic, 1, wait=3) == []


async def test_many_one_mebibyte_events_in_one_request(
    ingest: tuple[httpx.AsyncClient, IngestService], kafka_bootstrap: str
) -> None:
    client, service = ingest
    pad = "x" * (1024 * 1024)
    res = await client.post("/e/k", json=[{"name": "big/one", "data": {"pad": pad}}] * 8)
    assert res.status_code == 200, res.text
    records = await consume(kafka_bootstrap, service.deps.settings.events_topic, 8)
    assert len(records) == 8
    assert all(decode_event(r.value).data["pad"] == pad for r in records)


async def test_publish_events_keys_and_batches(kafka_bootstrap: str, unique_topics: object) -> None:
    topic = unique_topics.events  # type: ignore[attr-defined]
    await ensure_topics(kafka_bootstrap, [topic], partitions=1)
    bus = Bus(kafka_bootstrap)
    await bus.start()
    try:
        events = [Event(id=new_event_id(), name=f"x/{i}", data={"i": i}, ts=i) for i in range(50)]
        await publish_events(bus, topic, events, now_ms=123)
        await publish_events(bus, topic, [], now_ms=123)
    finally:
        await bus.stop()
    records = await consume(kafka_bootstrap, topic, 50)
    assert [decode_event(r.value) for r in records] == events
    assert {load_codec("event").decode(r.value)["received_at"] for r in records} == {123}
