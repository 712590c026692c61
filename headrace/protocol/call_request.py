"""The call request: the body the server POSTs to an app to run (part of) a function (§5).

The server builds it with ``build_call_request`` and must send exactly ``canonicalize(body)``
(the SDKs verify the signature over the JCS form). The Python SDK parses it with strict pydantic
models: ``event.ts`` must be an int, ``ctx.disable_immediate_execution`` and the top-level
``use_api`` must be present. ``ctx.fn_id`` is never sent: its presence switches the TS SDK to
async checkpointing (§10.2), which Headrace does not implement.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .errors import ProtocolError

_EVENT_KEYS = ("name", "data", "id", "ts", "user", "v")


def _event(obj: Any, where: str) -> dict[str, Any]:
    """An event as the SDKs expect it: int ts, object data, ``user`` always present."""
    if not isinstance(obj, dict):
        raise ProtocolError(f"{where} must be an object")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ProtocolError(f"{where}.name must be a non-empty string")
    data = obj.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError(f"{where}.data must be an object")
    out: dict[str, Any] = {"name": name, "data": data}
    event_id = obj.get("id")
    if event_id is not None:
        if not isinstance(event_id, str):
            raise ProtocolError(f"{where}.id must be a string")
        out["id"] = event_id
    ts = obj.get("ts", 0)
    if ts is None:
        ts = 0
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        raise ProtocolError(f"{where}.ts must be a number (ms)")
    out["ts"] = int(ts)
    user = obj.get("user")
    out["user"] = user if isinstance(user, dict) else {}
    if obj.get("v") is not None:
        out["v"] = obj["v"]
    return out


def build_call_request(
    *,
    run_id: str,
    event: dict[str, Any],
    events: list[dict[str, Any]],
    steps: dict[str, Any],
    stack: list[str],
    attempt: int,
    max_attempts: int,
    disable_immediate_execution: bool,
    request_version: int,
    step_id: str = "step",
    env: str = "dev",
    use_api: bool = False,
    job_id: str = "",
    request_id: str = "",
) -> dict[str, Any]:
    """The §5.1 body. ``steps`` maps hashed ids to memo values (StepRun output wrapped as
    ``{"data": ...}``); ``stack`` lists the same hashes in completion order."""
    return {
        "ctx": {
            "attempt": int(attempt),
            "disable_immediate_execution": bool(disable_immediate_execution),
            "env": env,
            "job_id": job_id,
            "max_attempts": int(max_attempts),
            "request_id": request_id,
            "run_id": run_id,
            "stack": {"current": len(stack), "stack": list(stack)},
            "step_id": step_id,
            "use_api": bool(use_api),
        },
        "defers": {},
        "event": _event(event, "event"),
        "events": [_event(e, f"events[{i}]") for i, e in enumerate(events)],
        "steps": dict(steps),
        "use_api": bool(use_api),
        "version": int(request_version),
    }


@dataclasses.dataclass(frozen=True)
class CallRequest:
    """A call request as an SDK reads it."""

    run_id: str
    event: dict[str, Any]
    events: list[dict[str, Any]]
    steps: dict[str, Any]
    stack: list[str]
    attempt: int
    max_attempts: int | None
    disable_immediate_execution: bool
    use_api: bool
    step_id: str
    env: str | None
    job_id: str | None
    request_id: str | None
    request_version: int | None


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{where} must be an integer")
    return value


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_call_request(body: Any) -> CallRequest:
    """Read a call request (the SDK side). Raises ProtocolError with the offending field."""
    if not isinstance(body, dict):
        raise ProtocolError("call request must be a JSON object")
    ctx = body.get("ctx")
    if not isinstance(ctx, dict):
        raise ProtocolError("call request ctx must be an object")
    run_id = ctx.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        raise ProtocolError("ctx.run_id must be a non-empty string")
    attempt = _int(ctx.get("attempt", 0), "ctx.attempt")
    max_attempts = ctx.get("max_attempts")
    if max_attempts is not None:
        max_attempts = _int(max_attempts, "ctx.max_attempts")
    die = ctx.get("disable_immediate_execution", False)
    if not isinstance(die, bool):
        raise ProtocolError("ctx.disable_immediate_execution must be a boolean")
    stack_obj = ctx.get("stack") or {}
    if not isinstance(stack_obj, dict):
        raise ProtocolError("ctx.stack must be an object")
    stack = stack_obj.get("stack") or []
    if not isinstance(stack, list) or not all(isinstance(s, str) for s in stack):
        raise ProtocolError("ctx.stack.stack must be a list of strings")
    steps = body.get("steps")
    if steps is None:
        steps = {}
    if not isinstance(steps, dict):
        raise ProtocolError("steps must be an object")
    event = _event(body.get("event"), "event")
    raw_events = body.get("events")
    if raw_events is None:
        events = [event]
    elif isinstance(raw_events, list):
        events = [_event(e, f"events[{i}]") for i, e in enumerate(raw_events)]
    else:
        raise ProtocolError("events must be a list")
    use_api = body.get("use_api") is True or ctx.get("use_api") is True
    version = body.get("version")
    return CallRequest(
        run_id=run_id,
        event=event,
        events=events,
        steps=dict(steps),
        stack=list(stack),
        attempt=attempt,
        max_attempts=max_attempts,
        disable_immediate_execution=die,
        use_api=use_api,
        step_id=_opt_str(ctx.get("step_id")) or "step",
        env=_opt_str(ctx.get("env")),
        job_id=_opt_str(ctx.get("job_id")),
        request_id=_opt_str(ctx.get("request_id")),
        request_version=version
        if isinstance(version, int) and not isinstance(version, bool)
        else None,
    )
