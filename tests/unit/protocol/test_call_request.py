from __future__ import annotations

from typing import Any

import pytest
from inngest._internal.server_lib.execution_request import ServerRequest

from headrace.protocol import (
    ProtocolError,
    build_call_request,
    canonicalize,
    parse_call_request,
)

from ._recorded import entry, load_transcript

EVENT = {"name": "demo/start", "data": {"who": "world"}, "id": "01JEVT", "ts": 1700000000000}


def _build(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "run_id": "01JRUN",
        "event": EVENT,
        "events": [EVENT],
        "steps": {"e0996a37c13d44c3b06074939d43fa3759bd32c1": {"data": {"a": 1}}},
        "stack": ["e0996a37c13d44c3b06074939d43fa3759bd32c1"],
        "attempt": 0,
        "max_attempts": 5,
        "disable_immediate_execution": False,
        "request_version": 2,
    }
    kwargs.update(overrides)
    return build_call_request(**kwargs)


def test_official_python_sdk_accepts_it_strictly() -> None:
    body = _build()
    req = ServerRequest.model_validate(body)
    assert req.ctx.run_id == "01JRUN"
    assert req.ctx.disable_immediate_execution is False
    assert req.event.ts == 1700000000000
    assert req.use_api is False


def test_shape_matches_recorded_request_apart_from_fn_and_queue_ids() -> None:
    recorded = entry(load_transcript("python"), "two-steps-sleep round 2")["request"]["body"]
    body = build_call_request(
        run_id=recorded["ctx"]["run_id"],
        event=recorded["event"],
        events=recorded["events"],
        steps=recorded["steps"],
        stack=recorded["ctx"]["stack"]["stack"],
        attempt=0,
        max_attempts=4,
        disable_immediate_execution=False,
        request_version=2,
        job_id="job-1",
        request_id="req-1",
    )
    expected = dict(recorded)
    expected["ctx"] = {k: v for k, v in recorded["ctx"].items() if k not in ("fn_id", "qi_id")}
    assert body == expected


def test_never_sends_fn_id_and_user_defaults_to_empty_object() -> None:
    body = _build(event={"name": "a", "data": None, "ts": 5.0})
    assert "fn_id" not in body["ctx"]
    assert body["event"] == {"name": "a", "data": {}, "ts": 5, "user": {}}
    assert isinstance(body["event"]["ts"], int)


def test_use_api_is_at_top_level_and_in_ctx() -> None:
    body = _build(use_api=True, events=[], steps={})
    assert body["use_api"] is True and body["ctx"]["use_api"] is True
    ServerRequest.model_validate(body)


def test_canonical_bytes_are_stable() -> None:
    assert canonicalize(_build()) == canonicalize(_build())


@pytest.mark.parametrize(
    "event", [{"data": {}}, {"name": ""}, {"name": "a", "data": []}, {"name": "a", "ts": "1"}]
)
def test_build_rejects_bad_events(event: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        _build(event=event)


def test_parse_round_trip() -> None:
    req = parse_call_request(_build(attempt=2, disable_immediate_execution=True, step_id="abc"))
    assert req.run_id == "01JRUN"
    assert req.attempt == 2
    assert req.max_attempts == 5
    assert req.disable_immediate_execution is True
    assert req.step_id == "abc"
    assert req.stack == ["e0996a37c13d44c3b06074939d43fa3759bd32c1"]
    assert req.event["name"] == "demo/start"
    assert req.request_version == 2


def test_parse_every_recorded_python_request() -> None:
    for e in load_transcript("python"):
        body = e["request"]["body"]
        if e["request"]["method"] != "POST" or not isinstance(body, dict) or "ctx" not in body:
            continue
        if "float" in e["label"]:
            continue
        req = parse_call_request(body)
        assert req.run_id == "01JTESTRUN0000000000000000", e["label"]


def test_parse_reads_ctx_use_api_like_ts() -> None:
    body = _build()
    body["use_api"] = False
    body["ctx"]["use_api"] = True
    assert parse_call_request(body).use_api is True


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("ctx"),
        lambda b: b["ctx"].pop("run_id"),
        lambda b: b["ctx"].__setitem__("attempt", "0"),
        lambda b: b["ctx"].__setitem__("disable_immediate_execution", "no"),
        lambda b: b.__setitem__("steps", []),
        lambda b: b.__setitem__("events", {}),
        lambda b: b["ctx"]["stack"].__setitem__("stack", [1]),
    ],
)
def test_parse_rejects(mutate: Any) -> None:
    body = _build()
    mutate(body)
    with pytest.raises(ProtocolError):
        parse_call_request(body)
