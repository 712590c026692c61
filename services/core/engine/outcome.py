"""Building blocks shared by the reply handlers: carry a run forward, retry it, fail it."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.core.engine.decision import Checkpoint, Decision, FailedRun, RunAt, RunNow
from services.core.engine.inputs import Op, RunState
from services.core.engine.retry import RetryPolicy
from services.core.engine.states import transition
from services.core.model import RunStatus


def display_name(op: Op) -> str:
    """The user-facing step id: ``displayName``, else ``userland.id``, else ``name``."""
    if op.display_name:
        return op.display_name
    userland = getattr(op, "userland", None)
    if isinstance(userland, Mapping):
        uid = userland.get("id")
        if isinstance(uid, str) and uid:
            return uid
    return op.name or op.id


def plain_error(message: str, name: str = "Error") -> dict[str, Any]:
    return {"name": name, "message": message}


def ignored(state: RunState) -> Decision:
    """Change nothing: the run has already ended."""
    return replace(carry(state, state.request_version), next=None, ignored=True)


def carry(state: RunState, request_version: int) -> Decision:
    """A decision that keeps every field of the run as it is; callers replace what moves."""
    return Decision(
        status=state.status,
        attempt=state.attempt,
        stack=state.stack,
        force_step_plan=state.force_step_plan,
        target=state.target,
        planned=state.planned,
        planned_mode=state.planned_mode,
        request_version=request_version,
        wait=state.wait,
        next=RunNow(),
    )


def fail(
    state: RunState,
    request_version: int,
    error: Any,
    checkpoints: Iterable[Checkpoint] = (),
    stack: tuple[str, ...] | None = None,
) -> Decision:
    """End the run as Failed with ``error``."""
    return replace(
        carry(state, request_version),
        status=transition(state.status, RunStatus.FAILED),
        checkpoints=tuple(checkpoints),
        stack=state.stack if stack is None else stack,
        planned=(),
        planned_mode="wait",
        wait=None,
        error=error,
        next=FailedRun(error),
    )


def retry(
    state: RunState,
    request_version: int,
    policy: RetryPolicy,
    rng: random.Random,
    retry_after: datetime | None,
    checkpoints: Iterable[Checkpoint] = (),
    stack: tuple[str, ...] | None = None,
    error: Any = None,
) -> Decision:
    """Try the same queue item again after backoff, as attempt ``attempt + 1``.

    ``error`` is why this attempt failed; the run shows it while it waits to retry.
    """
    when = policy.retry_at(state.attempt, state.now, rng, retry_after)
    return replace(
        carry(state, request_version),
        status=transition(state.status, RunStatus.RUNNING),
        attempt=state.attempt + 1,
        checkpoints=tuple(checkpoints),
        stack=state.stack if stack is None else stack,
        error=error,
        next=RunAt(when, "retry"),
    )


def retry_or_fail(
    state: RunState,
    request_version: int,
    policy: RetryPolicy,
    rng: random.Random,
    retry_after: datetime | None,
    error: Any,
) -> Decision:
    """Retry while attempts remain, else fail with ``error``."""
    if state.attempt + 1 < state.max_attempts:
        return retry(state, request_version, policy, rng, retry_after, error=error)
    return fail(state, request_version, error)
