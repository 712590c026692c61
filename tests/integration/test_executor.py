"""The executor on real Kafka and Postgres, calling a real SDK app in-process (the Headrace SDK's
ASGI app behind httpx's ASGI transport): jobs in, steps checkpointed, the next job or the finish
events out; a reply that is not from an SDK becomes a retry whose reason is on the run; the
call is signed when a signing key is set."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

import headrace
import headrace.asgi
from headrace import protocol
from services.core.codec import decode_event, decode_job, encode_job
from services.core.model import App, Event, Function, Job, RunStatus, Trigger
from services.core.service import Deps
from services.core.store import AppStore, EventStore, NewRun, RunStore
from services.executor import ExecutorService

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

KEY = "signkey-test-" + "ab" * 32
APP_URL = "http://app.test/api/headrace"

client = headrace.Client(app_id="calc", is_dev=False, signing_key=KEY)


@client.create_function(fn_id="add", trigger=headrace.TriggerEvent(event="calc/add"))
async def add(ctx: headrace.Context, step: headrace.Step) -> int:
    a = await step.run("a", lambda: int(ctx.event.data["a"]))
    b = await step.run("b", lambda: int(ctx.event.data["b"]))
    return int(a + b)


sdk_app = headrace.asgi.serve(client, [add], serve_path="/api/headrace")


async def garbage_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]}
    )
    await send({"type": "http.response.body", "body": b"<html>a proxy page</html>"})


@pytest.fixture
async def deps(open_deps: Callable[..., Awaitable[Deps]]) -> Deps:
    return await open_deps(signing_key=KEY, server_kind="cloud", app_timeout=5)


async def seed(deps: Deps, event: Event) -> str:
    fn = Function(
        id="calc-add",
        app_id="calc",
        name="add",
        triggers=(Trigger(event="calc/add"),),
        url=f"{APP_URL}?fnId=calc-add&stepId=step",
        retries=1,
    )
    await AppStore(deps.db).sync(App(id="calc", url=APP_URL, functions=(fn,)))
    async with deps.db.tx() as conn:
        await EventStore(deps.db).insert(conn, [event])
        await RunStore(deps.db).create(
            conn, [NewRun("RUN1", "calc-add", "calc", (event.id,), 2)], 30
        )
    await deps.bus.send(deps.settings.jobs_topic, encode_job(Job("RUN1", 1)), "RUN1")
    return "RUN1"


async def run_executor(deps: Deps, app: Any, until: Callable[[], Awaitable[bool]]) -> None:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    executor = ExecutorService(deps, http=http)
    await executor.start()
    task = asyncio.create_task(executor.run())
    try:
        async with asyncio.timeout(90):
            while not await until():  # noqa: ASYNC110 - polls the database
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await executor.stop()
        await http.aclose()


def ended(runs: RunStore, run_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        run = await runs.get(run_id)
        return run is not None and run.status is not RunStatus.RUNNING

    return check


async def read_topic(deps: Deps, topic: str, n: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=deps.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    out: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(out) < n:
                batch = await consumer.getmany(timeout_ms=500)
                out += [m.value for msgs in batch.values() for m in msgs if m.value]
    finally:
        await consumer.stop()
    return out


async def test_a_run_completes_through_the_executor(deps: Deps) -> None:
    event = Event(id="E1", name="calc/add", data={"a": 2, "b": 3}, ts=1)
    run_id = await seed(deps, event)
    runs = RunStore(deps.db)

    await run_executor(deps, sdk_app, ended(runs, run_id))
    run = await runs.get(run_id)
    assert run is not None and run.status is RunStatus.COMPLETED and run.output == 5
    steps = await runs.steps(run_id)
    assert [(s.name, s.output, s.memo) for s in steps] == [
        ("a", 2, {"data": 2}),
        ("b", 3, {"data": 3}),
    ]
    assert [s.step_id for s in steps] == [protocol.step_hash("a"), protocol.step_hash("b")]
    # Three calls, three jobs: the first from the test, two published after checkpoints.
    jobs = [decode_job(v) for v in await read_topic(deps, deps.settings.jobs_topic, 3)]
    assert [j.generation for j in jobs] == [1, 2, 3]
    finished = [decode_event(v) for v in await read_topic(deps, deps.settings.events_topic, 1)]
    assert finished[0].name == "inngest/function.finished"
    assert finished[0].data["function_id"] == "calc-add"
    assert finished[0].data["run_id"] == run_id
    assert finished[0].data["result"] == 5


async def test_a_reply_not_from_an_sdk_is_retried_with_its_reason(deps: Deps) -> None:
    run_id = await seed(deps, Event(id="E1", name="calc/add", data={"a": 1, "b": 1}, ts=1))
    runs = RunStore(deps.db)

    async def retried() -> bool:
        run = await runs.get(run_id)
        return run is not None and run.attempt == 1

    await run_executor(deps, garbage_app, retried)
    run = await runs.get(run_id)
    assert run is not None and run.status is RunStatus.RUNNING
    assert run.error is not None
    assert "without Inngest SDK headers" in run.error["message"]
    assert "a proxy page" in run.error["message"]
    assert run.not_before is not None and run.generation == 2


async def test_calls_are_signed_over_the_canonical_body(deps: Deps) -> None:
    seen: list[tuple[bytes, str | None]] = []

    async def recording_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = dict(scope["headers"])
            seen.append((body, (headers.get(b"x-inngest-signature") or b"").decode() or None))

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            await sdk_app(scope, replay, send)
            return
        await sdk_app(scope, receive, send)

    run_id = await seed(deps, Event(id="E1", name="calc/add", data={"a": 4, "b": 4}, ts=1))
    runs = RunStore(deps.db)

    await run_executor(deps, recording_app, ended(runs, run_id))
    run = await runs.get(run_id)
    assert run is not None and run.status is RunStatus.COMPLETED and run.output == 8
    assert len(seen) == 3
    for body, signature in seen:
        assert signature is not None
        assert protocol.verify_signature(body, signature, [KEY])
        assert body == protocol.canonicalize(json.loads(body))


async def test_a_job_record_that_cannot_be_decoded_is_dead_lettered(deps: Deps) -> None:
    await deps.bus.send(deps.settings.jobs_topic, b"\xc3\x01garbage", "RUN1")
    run_id = await seed(deps, Event(id="E1", name="calc/add", data={"a": 1, "b": 2}, ts=1))
    runs = RunStore(deps.db)

    await run_executor(deps, sdk_app, ended(runs, run_id))
    run = await runs.get(run_id)
    assert run is not None and run.output == 3  # the partition moved on past the bad record
    async with deps.db.conn() as conn:
        cur = await conn.execute("SELECT consumer, reason, payload FROM dead_letters")
        rows = await cur.fetchall()
    assert [(r["consumer"], bytes(r["payload"])) for r in rows] == [
        ("executor", b"\xc3\x01garbage")
    ]
    assert "Avro" in rows[0]["reason"]
    assert deps.metrics.dead_letters.labels("executor")._value.get() == 1


async def test_every_call_is_a_span_in_the_runs_trace(deps: Deps) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from services.core.tracing import Tracing, run_trace_id

    exporter = InMemorySpanExporter()
    deps.tracing = Tracing.with_processor(SimpleSpanProcessor(exporter), "headrace-test")
    parents: list[str] = []

    async def tracing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            parents.append(dict(scope["headers"]).get(b"traceparent", b"").decode())
        await sdk_app(scope, receive, send)

    run_id = await seed(deps, Event(id="E1", name="calc/add", data={"a": 1, "b": 1}, ts=1))
    runs = RunStore(deps.db)

    await run_executor(deps, tracing_app, ended(runs, run_id))
    spans = exporter.get_finished_spans()
    assert len(spans) == 3 == len(parents)
    assert {s.context.trace_id for s in spans} == {run_trace_id(run_id)}
    assert [s.attributes["headrace.reply"] for s in spans] == ["OpsReply", "OpsReply", "DoneReply"]
    assert all(s.attributes["http.response.status_code"] in (200, 206) for s in spans)
    # The app saw each call's own span as its parent.
    assert [p.split("-")[2] for p in parents] == [f"{s.context.span_id:016x}" for s in spans]


async def test_finish_events_lost_after_the_commit_are_published_again(deps: Deps) -> None:
    from services.core.errors import BusError
    from services.executor.service import derived_event_id

    real_send_many = deps.bus.send_many
    failures = {"left": 1}

    async def flaky_send_many(topic: str, records: Any) -> None:
        if topic == deps.settings.events_topic and failures["left"]:
            failures["left"] -= 1
            raise BusError("broker unavailable (injected)")
        await real_send_many(topic, records)

    deps.bus.send_many = flaky_send_many  # type: ignore[method-assign]
    run_id = await seed(deps, Event(id="E1", name="calc/add", data={"a": 20, "b": 22}, ts=1))
    runs = RunStore(deps.db)
    kicked = False

    async def published() -> bool:
        nonlocal kicked
        async with deps.db.conn() as conn:
            cur = await conn.execute(
                "SELECT status, finish_pending, wake_at FROM runs WHERE id = %s", (run_id,)
            )
            row = await cur.fetchone()
        assert row is not None
        if row["status"] == "Running":
            return False
        if row["finish_pending"] and not kicked:
            # The publish failed after the commit: the run keeps a wake time. Play the
            # scheduler: make it due now and publish its job.
            assert row["wake_at"] is not None
            async with deps.db.conn() as conn:
                await conn.execute("UPDATE runs SET wake_at = now() WHERE id = %s", (run_id,))
            for job in await runs.fire_due(30):
                await deps.bus.send(deps.settings.jobs_topic, encode_job(job), job.run_id)
            kicked = True
        return not row["finish_pending"]

    await run_executor(deps, sdk_app, published)
    assert kicked and failures["left"] == 0
    run = await runs.get(run_id)
    assert run is not None and run.status is RunStatus.COMPLETED and run.output == 42
    assert await runs.next_wake() is None  # nothing more is due for it
    finished = [decode_event(v) for v in await read_topic(deps, deps.settings.events_topic, 1)]
    assert [(e.name, e.id) for e in finished] == [
        ("inngest/function.finished", derived_event_id(run_id, "finished"))
    ]
    assert finished[0].data["result"] == 42
