"""The matcher on real Kafka and Postgres: events in, events stored, runs created once, jobs out;
a record it cannot decode is recorded, skipped and counted, and the partition moves on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.core.codec import decode_job
from services.core.model import App, Event, Function, Trigger
from services.core.publish import new_event_id, publish_events
from services.core.service import Deps
from services.core.store import AppStore, RunStore
from services.matcher import MatcherService

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SCHEMA_TEXT = (Path(__file__).resolve().parents[2] / "schemas" / "event.avsc").read_text()


@pytest.fixture
async def deps(open_deps: Callable[..., Awaitable[Deps]]) -> Deps:
    return await open_deps()


async def _sync_app(deps: Deps) -> None:
    fns = (
        Function(
            id="shop-orders",
            app_id="shop",
            name="orders",
            url="http://app/api?fnId=a",
            triggers=(Trigger(event="order/created"),),
        ),
        Function(
            id="shop-big",
            app_id="shop",
            name="big",
            url="http://app/api?fnId=b",
            triggers=(Trigger(event="order/*", expression="event.data.amount > 100"),),
        ),
    )
    await AppStore(deps.db).sync(App(id="shop", url="http://app/api", functions=fns))


async def _jobs(deps: Deps, n: int, limit: float = 60) -> list[Any]:
    consumer = AIOKafkaConsumer(
        deps.settings.jobs_topic,
        bootstrap_servers=deps.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    out: list[Any] = []
    try:
        async with asyncio.timeout(limit):
            while len(out) < n:
                batch = await consumer.getmany(timeout_ms=500)
                out += [decode_job(m.value) for msgs in batch.values() for m in msgs]
    finally:
        await consumer.stop()
    return out


async def _run_until(matcher: MatcherService, condition: Any, limit: float = 90) -> None:
    task = asyncio.create_task(matcher.run())
    try:
        async with asyncio.timeout(limit):
            while not await condition():  # noqa: ASYNC110 - polls the database, not a flag
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_events_become_runs_and_jobs(deps: Deps) -> None:
    await _sync_app(deps)
    small = Event(id=new_event_id(), name="order/created", data={"amount": 5}, ts=1)
    big = Event(id=new_event_id(), name="order/created", data={"amount": 500}, ts=2)
    other = Event(id=new_event_id(), name="nobody/listens", data={}, ts=3)
    await publish_events(deps.bus, deps.settings.events_topic, [small, big, other], now_ms=9)

    matcher = MatcherService(deps)
    await matcher.start()
    runs = RunStore(deps.db)

    async def all_matched() -> bool:
        return len(await runs.for_event(small.id)) == 1 and len(await runs.for_event(big.id)) == 2

    try:
        await _run_until(matcher, all_matched)
    finally:
        await matcher.stop()
    assert [r.function_id for r in await runs.for_event(small.id)] == ["shop-orders"]
    big_runs = sorted(r.function_id for r in await runs.for_event(big.id))
    assert big_runs == ["shop-big", "shop-orders"]
    assert await runs.for_event(other.id) == []  # stored, starts nothing
    async with deps.db.conn() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM events")
        assert (await cur.fetchone())["n"] == 3
    jobs = await _jobs(deps, 3)
    run_ids = {r.id for e in (small, big) for r in await runs.for_event(e.id)}
    assert {j.run_id for j in jobs} == run_ids
    assert all(j.generation == 1 for j in jobs)


async def test_replayed_records_and_repeated_sender_ids_start_nothing_new(deps: Deps) -> None:
    await _sync_app(deps)
    first = Event(id=new_event_id(), name="order/created", data={}, ts=1, idempotency_key="k-1")
    again = Event(id=new_event_id(), name="order/created", data={}, ts=2, idempotency_key="k-1")
    matcher = MatcherService(deps)
    from services.core.bus import ConsumedRecord
    from services.core.codec import encode_event

    records = [ConsumedRecord("t", 0, i, None, encode_event(e, 0)) for i, e in enumerate([first])]
    created = await matcher.process(records)
    assert len(created) == 1
    assert await matcher.process(records) == []  # the same record again: no new run
    dup = [ConsumedRecord("t", 0, 5, None, encode_event(again, 0))]
    assert await matcher.process(dup) == []  # same sender id within 24 h: stored, no run
    async with deps.db.conn() as conn:
        cur = await conn.execute("SELECT id, duplicate_of FROM events ORDER BY id")
        rows = await cur.fetchall()
    assert [(r["id"], r["duplicate_of"]) for r in rows] == [(first.id, None), (again.id, first.id)]


async def test_bad_record_is_dead_lettered_and_the_partition_moves_on(deps: Deps) -> None:
    await _sync_app(deps)
    producer = AIOKafkaProducer(bootstrap_servers=deps.settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(deps.settings.events_topic, b"not avro at all", partition=0)
    finally:
        await producer.stop()
    good = Event(id=new_event_id(), name="order/created", data={}, ts=1)
    await publish_events(deps.bus, deps.settings.events_topic, [good], now_ms=1)

    matcher = MatcherService(deps)
    await matcher.start()
    runs = RunStore(deps.db)

    async def good_matched() -> bool:
        return len(await runs.for_event(good.id)) == 1

    try:
        await _run_until(matcher, good_matched)
    finally:
        await matcher.stop()
    async with deps.db.conn() as conn:
        cur = await conn.execute("SELECT consumer, reason, payload FROM dead_letters")
        rows = await cur.fetchall()
    assert len(rows) == 1
    assert rows[0]["consumer"] == "matcher"
    assert "C3 01 marker" in rows[0]["reason"]
    assert bytes(rows[0]["payload"]) == b"not avro at all"
    sample = deps.metrics.dead_letters.labels("matcher")._value.get()
    assert sample == 1


async def test_an_outside_producer_writing_avro_directly_starts_runs(deps: Deps) -> None:
    """The recipe in the README: fastavro + any Kafka client, no Headrace code."""
    import io
    import json
    import time

    import fastavro
    import fastavro.schema
    from ulid import ULID

    await _sync_app(deps)
    schema = fastavro.parse_schema(json.loads(SCHEMA_TEXT))
    fingerprint = bytes.fromhex(
        fastavro.schema.fingerprint(
            fastavro.schema.to_parsing_canonical_form(schema), "CRC-64-AVRO"
        )
    )
    buf = io.BytesIO()
    buf.write(b"\xc3\x01" + fingerprint)
    event_id = str(ULID())
    now_ms = int(time.time() * 1000)
    fastavro.schemaless_writer(
        buf,
        schema,
        {
            "id": event_id,
            "name": "order/created",
            "data": json.dumps({"order_id": "o-2"}),
            "user": "{}",
            "ts": now_ms,
            "v": None,
            "idempotency_key": None,
            "received_at": now_ms,
        },
    )
    producer = AIOKafkaProducer(bootstrap_servers=deps.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            deps.settings.events_topic, key=event_id.encode(), value=buf.getvalue()
        )
    finally:
        await producer.stop()

    matcher = MatcherService(deps)
    await matcher.start()
    runs = RunStore(deps.db)

    async def matched() -> bool:
        return len(await runs.for_event(event_id)) == 1

    try:
        await _run_until(matcher, matched)
    finally:
        await matcher.stop()
    assert [r.function_id for r in await runs.for_event(event_id)] == ["shop-orders"]
    async with deps.db.conn() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM dead_letters")
        assert (await cur.fetchone())["n"] == 0
