"""Execution cases beyond the recordings: sync functions, planning, targeting, envelopes."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

import headrace
from headrace import Context, Step, SyncStep
from headrace._execution import execute
from headrace.protocol import build_call_request, parse_call_request, step_hash

from ._demo import NOW, FakeServer, make_client

EVENT = {"name": "demo/x", "data": {"n": 2}, "ts": 1}


def _request(steps: dict[str, Any] | None = None, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "run_id": "run-1",
        "event": EVENT,
        "events": [EVENT],
        "steps": steps or {},
        "stack": list(steps or {}),
        "attempt": 0,
        "max_attempts": 3,
        "disable_immediate_execution": False,
        "request_version": 2,
    }
    args.update(kw)
    return parse_call_request(build_call_request(**args))


client = make_client(FakeServer())
trigger = headrace.TriggerEvent(event="demo/x")


@client.create_function(fn_id="sync", trigger=trigger)
def sync_fn(ctx: Context, step: SyncStep) -> Any:
    a = step.run("a", lambda n: n * 10, ctx.event.data["n"])
    # Sync code runs in a worker thread, never on the event loop's (main) thread.
    b = step.run("b", lambda: threading.current_thread() is threading.main_thread())
    step.sleep("nap", dt.timedelta(seconds=5))
    return {"a": a, "b": b}


@client.create_function(fn_id="swallow", trigger=trigger)
async def swallow(ctx: Context, step: Step) -> Any:
    try:
        await step.run("a", lambda: 1)
    except Exception:  # must not swallow the step interrupt
        return "swallowed"
    return "end"


@client.create_function(fn_id="caught", trigger=trigger)
async def caught(ctx: Context, step: Step) -> Any:
    try:
        await step.run("a", lambda: 1)
    except headrace.StepError as err:
        return {"name": err.name, "message": err.message}
    return "no error"


@client.create_function(fn_id="envelope", trigger=trigger)
async def envelope(ctx: Context, step: Step) -> Any:
    a: Any = await step.run("a", lambda: 0)
    b: Any = await step.run("b", lambda: 0)
    return [a, b]


@client.create_function(fn_id="bad-output", trigger=trigger)
async def bad_output(ctx: Context, step: Step) -> Any:
    return object()


@client.create_function(fn_id="retry-later", trigger=trigger)
async def retry_later(ctx: Context, step: Step) -> Any:
    def fail() -> None:
        raise headrace.RetryAfterError("later", dt.timedelta(seconds=30), now=NOW)

    await step.run("a", fail)


async def test_sync_function_runs_in_a_thread_with_sync_steps() -> None:
    reply = await execute(client, sync_fn, _request(), clock=lambda: NOW)
    assert reply.status == 206
    assert reply.json()[0]["data"] == 20
    a = step_hash("a")
    reply = await execute(client, sync_fn, _request({a: {"data": 20}}), clock=lambda: NOW)
    assert reply.status == 206
    [op] = reply.json()
    assert op["id"] == step_hash("b") and op["data"] is False


async def test_sync_function_sleep_and_return() -> None:
    steps = {step_hash("a"): {"data": 20}, step_hash("b"): {"data": "t"}}
    reply = await execute(client, sync_fn, _request(steps), clock=lambda: NOW)
    [op] = reply.json()
    assert op["op"] == "Sleep" and op["name"] == "2026-11-22T06:47:43.750Z"
    reply = await execute(client, sync_fn, _request({**steps, step_hash("nap"): None}))
    assert reply.status == 200 and reply.json() == {"a": 20, "b": "t"}


async def test_disable_immediate_execution_plans_the_step() -> None:
    reply = await execute(client, sync_fn, _request(disable_immediate_execution=True))
    [op] = reply.json()
    assert reply.status == 206 and op["op"] == "StepPlanned" and op["data"] is None


async def test_targeted_step_runs_even_with_die() -> None:
    req = _request(disable_immediate_execution=True)
    reply = await execute(client, sync_fn, req, step_id=step_hash("a"))
    [op] = reply.json()
    assert op["op"] == "StepRun" and op["data"] == 20


async def test_except_exception_cannot_swallow_the_interrupt() -> None:
    reply = await execute(client, swallow, _request())
    assert reply.status == 206 and reply.json()[0]["op"] == "StepRun"


async def test_memoized_error_can_be_caught() -> None:
    memo = {step_hash("a"): {"error": {"name": "ValueError", "message": "bad", "stack": "s"}}}
    reply = await execute(client, caught, _request(memo))
    assert reply.status == 200
    assert reply.json() == {"name": "ValueError", "message": "bad"}


async def test_envelope_rules() -> None:
    # {"data": null} is an envelope; a bare object with other keys is the value itself.
    steps = {step_hash("a"): {"data": None}, step_hash("b"): {"data": 1, "extra": True}}
    reply = await execute(client, envelope, _request(steps))
    assert reply.json() == [None, {"data": 1, "extra": True}]


async def test_unserializable_output_is_a_clear_500() -> None:
    reply = await execute(client, bad_output, _request())
    assert reply.status == 500
    assert reply.json()["code"] == "output_unserializable"


async def test_retry_after_inside_a_step_fails_the_request_with_the_header() -> None:
    reply = await execute(client, retry_later, _request())
    assert reply.status == 500
    assert reply.headers["Retry-After"] == "2026-11-22T06:48:08.750Z"
    assert reply.json()["code"] == "retry_after_error"


def test_retry_after_forms() -> None:
    assert headrace.RetryAfterError("x", 5, now=NOW).retry_after == NOW + dt.timedelta(seconds=5)
    naive = dt.datetime(2030, 1, 1)
    assert headrace.RetryAfterError("x", naive).retry_after == dt.datetime(
        2030, 1, 1, tzinfo=dt.UTC
    )
    with pytest.raises(TypeError):
        headrace.RetryAfterError("x", "soon")  # type: ignore[arg-type]


async def test_step_id_must_be_a_string() -> None:
    @client.create_function(fn_id="bad-id", trigger=trigger)
    async def bad_id(ctx: Context, step: Step) -> Any:
        await step.run("", lambda: 1)

    reply = await execute(client, bad_id, _request())
    assert reply.status == 500 and "step id" in reply.json()["message"]


async def test_invalid_sleep_duration_fails_the_function() -> None:
    @client.create_function(fn_id="bad-sleep", trigger=trigger)
    async def bad_sleep(ctx: Context, step: Step) -> Any:
        await step.sleep("nap", "soon")

    reply = await execute(client, bad_sleep, _request())
    assert reply.status == 500 and reply.json()["name"] == "ValueError"
