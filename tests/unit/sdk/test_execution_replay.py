"""Replay the exchanges recorded with the official Python SDK through Headrace's execution loop:
same hashes, same statuses, same opcode shapes, same retry headers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from headrace._execution import execute
from headrace.protocol import parse_call_request

from ._demo import NOW, FakeServer, demo_functions, entry, load_transcript, make_client

LABELS = [
    "two-steps-sleep round 1 (no memo)",
    "two-steps-sleep round 2",
    "two-steps-sleep round 3",
    "two-steps-sleep round 4",
    "parallel round 1 (discovery)",
    "parallel round 2 (execute planned p1, stepId=<hash p1>)",
    "parallel round 3 (execute planned p2)",
    "parallel round 4 (discovery after both, die=true)",
    "parallel round 4b (same but die=false)",
    "parallel round 5 (all memoized)",
    "misc round 1 -> WaitForEvent",
    "misc round 2 (event memoized raw, not wrapped) -> send_event StepRun",
    "misc round 3 -> InvokeFunction",
    "misc round 4 -> Sleep (sleep_until)",
    "misc round 5 -> done (200)",
    "misc: wait_for_event timed out (memo null)",
    "misc: invoke failed (memo {error})",
    "errors: step raises (attempt 0 of 3) -> StepError",
    "errors: step raises on last attempt -> StepFailed",
    "errors: memoized step error -> function fails with StepError",
    "errors: NonRetriableError inside step.run",
    "errors: function-level exception",
    "errors: NonRetriableError at function level",
    "errors: RetryAfterError",
    "errors: repeated step id (round 1)",
    "errors: repeated step id (round 2: 'same' memoized)",
    "errors: nested step",
    "proto: targeted stepId not found (step unexpected)",
]


def _without_stacks(value: Any) -> Any:
    """Tracebacks name files and lines of the recording app; compare everything else."""
    if isinstance(value, dict):
        return {
            k: ("<stack>" if k == "stack" and v else _without_stacks(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_without_stacks(v) for v in value]
    return value


@pytest.mark.parametrize("label", LABELS)
async def test_replay_matches_official_sdk(label: str) -> None:
    recorded = entry(load_transcript("python"), label)
    query = {k: v[0] for k, v in parse_qs(urlsplit(recorded["request"]["url"]).query).items()}
    server = FakeServer()
    client = make_client(server)
    fns = {fn.id: fn for fn in demo_functions(client)}
    fn = fns[query["fnId"]]

    reply = await execute(
        client,
        fn,
        parse_call_request(recorded["request"]["body"]),
        step_id=query["stepId"],
        clock=lambda: NOW,
    )

    expected = recorded["response"]
    assert reply.status == expected["status"]
    body = reply.json()
    if label == "two-steps-sleep round 3":
        # The recording slept "2s" from its own clock; ours is fixed.
        assert body[0]["name"] == "2026-11-22T06:47:40.750Z"
        body[0]["name"] = expected["body"][0]["name"]
    assert _without_stacks(body) == _without_stacks(expected["body"])
    ours = {k.lower(): v for k, v in reply.headers.items()}
    for header in ("x-inngest-no-retry", "retry-after"):
        assert ours.get(header) == expected["headers"].get(header), header


async def test_send_event_step_posts_to_event_api() -> None:
    recorded = entry(
        load_transcript("python"),
        "misc round 2 (event memoized raw, not wrapped) -> send_event StepRun",
    )
    server = FakeServer()
    client = make_client(server)
    fn = {f.id: f for f in demo_functions(client)}["demo-app-misc-ops"]
    await execute(client, fn, parse_call_request(recorded["request"]["body"]), clock=lambda: NOW)
    [request] = server.requests
    assert request.url == "http://server.test/e/dev"
    [sent] = recorded["sdk_calls_to_server"][0]["body"]
    [ours] = json.loads(request.content)
    assert ours["name"] == sent["name"] and ours["data"] == sent["data"]
    assert isinstance(ours["ts"], int) and "id" not in ours
