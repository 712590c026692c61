"""``decide`` and ``resume``: the engine's two entry points.

``decide(state, reply, policy, rng)`` is called once per app reply; ``resume(state)`` when a
sleep's timer fires. Both are pure: the same input gives the same decision (``rng`` seeds the
backoff jitter), and neither performs I/O.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.core.engine.decision import Checkpoint, Decision, Finished, RunAt, RunNow
from services.core.engine.durations import parse_instant
from services.core.engine.inputs import (
    DoneReply,
    ErrorReply,
    OpsReply,
    Reply,
    RunState,
)
from services.core.engine.opcodes import decide_ops
from services.core.engine.outcome import carry, fail, ignored, plain_error, retry_or_fail
from services.core.engine.retry import RetryPolicy
from services.core.engine.states import transition
from services.core.model import RunStatus, StepStatus


def request_version(state: RunState, reply: Reply) -> int:
    """The run keeps the request version of the first reply that carried one."""
    if state.request_version != -1:
        return state.request_version
    if isinstance(reply, OpsReply | DoneReply) and reply.request_version is not None:
        return reply.request_version
    return state.request_version


def error_of(reply: ErrorReply) -> Any:
    """A failed run's error: the SDK's body exactly as received when it is an object."""
    if isinstance(reply.body, Mapping):
        return dict(reply.body)
    return plain_error(reply.message or f"invalid status code: {reply.status}")


def decide(state: RunState, reply: Reply, policy: RetryPolicy, rng: random.Random) -> Decision:
    """Decide what happens to a run after the app's ``reply``.

    >>> from datetime import UTC, datetime
    >>> from services.core.model import RunStatus
    >>> state = RunState("R1", RunStatus.RUNNING, datetime(2030, 1, 1, tzinfo=UTC))
    >>> decide(state, DoneReply({"ok": True}), RetryPolicy.dev(), random.Random(0)).next
    Finished(output={'ok': True})
    """
    if state.status.ended:
        return ignored(state)
    rv = request_version(state, reply)
    if isinstance(reply, OpsReply):
        return decide_ops(state, reply, rv, policy, rng)
    if isinstance(reply, DoneReply):
        return replace(
            carry(state, rv),
            status=transition(state.status, RunStatus.COMPLETED),
            attempt=0,
            planned=(),
            planned_mode="wait",
            wait=None,
            output=reply.output,
            next=Finished(reply.output),
        )
    if isinstance(reply, ErrorReply):
        error = error_of(reply)
        if not reply.retriable:
            return fail(state, rv, error)
        return retry_or_fail(state, rv, policy, rng, reply.retry_after, error)
    message = reply.message or "the app could not be reached"
    return retry_or_fail(state, rv, policy, rng, None, plain_error(message))


def resume(state: RunState) -> Decision:
    """A sleep's timer fired: the sleep step completes (memo ``None``) and discovery runs.

    A timer for a run that ended or no longer sleeps is stale and ignored; one that fired early
    sets itself again.
    """
    wait = state.wait
    if state.status.ended or wait is None or wait.get("kind") != "sleep":
        return ignored(state)
    step_id = str(wait.get("step_id") or "")
    until = parse_instant(str(wait.get("until") or ""))
    rv = state.request_version
    if until is not None and until > state.now:
        return replace(carry(state, rv), next=RunAt(until, "sleep"))
    checkpoint = Checkpoint(
        step_id=step_id,
        name=str(wait.get("name") or step_id),
        op="Sleep",
        status=StepStatus.COMPLETED,
        append_to_stack=step_id not in state.stack,
    )
    stack = state.stack if step_id in state.stack else (*state.stack, step_id)
    remaining = tuple(p for p in state.planned if p not in stack)
    force = state.force_step_plan and not (rv >= 2 and not remaining)
    return replace(
        carry(state, rv),
        status=transition(state.status, RunStatus.RUNNING),
        checkpoints=(checkpoint,),
        stack=stack,
        attempt=0,
        force_step_plan=force,
        target=remaining[0] if remaining else "step",
        planned=remaining,
        wait=None,
        next=RunNow(),
    )


__all__ = ["decide", "error_of", "request_version", "resume"]
