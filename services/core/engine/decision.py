"""What the engine returns: steps to checkpoint, the run's new fields, and the next move.

The executor commits a ``Decision`` in one transaction: every ``Checkpoint`` (idempotent on
run and step id), the run's new fields, and then does ``next``:

    RunNow()              publish a job for the run now
    RunAt(when, reason)   insert a durable timer (``"sleep"`` or ``"retry"``)
    Finished(output)      the run completed
    FailedRun(error)      the run failed; emit ``inngest/function.failed``

An ``ignored`` decision changes nothing (the run had already ended).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.core.engine.inputs import PlannedMode
from services.core.model import RunStatus, StepStatus


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One step result to store.

    ``memo`` is what goes back to the SDK in ``steps[step_id]`` (``{"data": …}`` for a step
    run, always wrapped; ``{"error": …}`` for a failed step; ``None`` for a sleep); ``output`` is
    the unwrapped data, for the API. ``name`` is the user-facing id.
    """

    step_id: str
    name: str
    op: str
    status: StepStatus
    memo: Any = None
    output: Any = None
    error: Any = None
    append_to_stack: bool = False
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class RunNow:
    """Publish a job now."""


@dataclass(frozen=True, slots=True)
class RunAt:
    """A durable timer: call again at ``when`` (``reason`` is ``"sleep"`` or ``"retry"``)."""

    when: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The run completed with ``output``."""

    output: Any


@dataclass(frozen=True, slots=True)
class FailedRun:
    """The run failed with ``error``."""

    error: Any


Next = RunNow | RunAt | Finished | FailedRun


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one reply (or of a sleep's timer firing)."""

    status: RunStatus
    attempt: int
    stack: tuple[str, ...]
    force_step_plan: bool
    target: str
    planned: tuple[str, ...]
    planned_mode: PlannedMode
    request_version: int
    next: Next | None
    checkpoints: tuple[Checkpoint, ...] = ()
    wait: Mapping[str, Any] | None = None
    output: Any = None
    error: Any = None
    ignored: bool = False


def failure_event_data(
    function_id: str,
    run_id: str,
    error: Any,
    event: Mapping[str, Any],
    status: int | None = 500,
) -> dict[str, Any]:
    """The data of ``inngest/function.failed`` (wire protocol §15).

    >>> failure_event_data("app-fn", "R1", {"name": "Error", "message": "boom"}, {})["error"]
    {'error': 'invalid status code: 500', 'name': 'Error', 'message': 'boom', 'stack': ''}
    """
    err: Mapping[str, Any] = error if isinstance(error, Mapping) else {"message": str(error)}
    name = err.get("name")
    message = err.get("message")
    stack = err.get("stack")
    text = f"invalid status code: {status}" if status is not None else str(message or "")
    return {
        "function_id": function_id,
        "run_id": run_id,
        "error": {
            "error": text,
            "name": name if isinstance(name, str) and name else "Error",
            "message": message if isinstance(message, str) else str(message or ""),
            "stack": stack if isinstance(stack, str) else "",
        },
        "event": dict(event),
    }


def finished_event_data(
    function_id: str,
    run_id: str,
    event: Mapping[str, Any],
    output: Any = None,
    error: Any = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """The data of ``inngest/function.finished``: ``result`` on success, ``error`` on failure.

    ``correlation_id`` links an invoked run back to the waiting ``step.invoke``.
    """
    data: dict[str, Any] = {"function_id": function_id, "run_id": run_id, "event": dict(event)}
    if error is not None:
        data["error"] = error
    else:
        data["result"] = output
    if correlation_id is not None:
        data["correlation_id"] = correlation_id
    return data
