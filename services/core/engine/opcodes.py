"""A 206 reply: the opcode array (wire protocol §8, §10).

Order of handling, whatever order the ops came in:

1. results: ``StepRun``, ``StepFailed``, and a ``StepError`` that may not be retried (the
   ``x-inngest-no-retry`` header, or the last attempt) are checkpointed and appended to the stack;
   a step already in the stack is skipped (a checkpoint happens once per step id);
2. an opcode this version does not implement fails the run with a specific message;
3. ``RunComplete`` finishes the run; a retriable ``StepError`` retries the same queue item;
4. ``StepPlanned`` ops are added to the planned list, in order, and the first is targeted;
5. with nothing planned left, a ``Sleep`` starts a durable timer, else discovery is called.

A reply that moves nothing forward (an empty array, a repeat of a stored step) counts as an
attempt, so an app that keeps answering ``[]`` fails instead of looping forever.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.core.engine.decision import Checkpoint, Decision, Finished, RunAt, RunNow
from services.core.engine.durations import format_instant, sleep_until
from services.core.engine.errors import EngineError
from services.core.engine.inputs import Op, OpsReply, PlannedMode, RunState
from services.core.engine.outcome import carry, display_name, fail, plain_error, retry
from services.core.engine.retry import RetryPolicy
from services.core.engine.states import transition
from services.core.model import RunStatus, StepStatus

SUPPORTED = frozenset(
    {
        "StepRun",
        "StepFailed",
        "StepError",
        "StepPlanned",
        "Sleep",
        "DiscoveryRequest",
        "RunComplete",
        "StepNotFound",
    }
)
# Ops that say nothing (Go's OpcodeNone) and ops that ask for no request of their own.
_NOTHING = frozenset({"", "None"})
_LAZY = frozenset({"DiscoveryRequest", "StepNotFound"})


def _step_error(op: Op) -> Any:
    if op.error is not None:
        return dict(op.error)
    if isinstance(op.data, Mapping):
        return dict(op.data)
    return plain_error(f"step {display_name(op)} failed")


def _result(op: Op, kind: str, attempts: int) -> Checkpoint:
    if kind == "StepRun":
        return Checkpoint(
            step_id=op.id,
            name=display_name(op),
            op="StepRun",
            status=StepStatus.COMPLETED,
            memo={"data": op.data},
            output=op.data,
            append_to_stack=True,
            attempts=attempts,
        )
    err = _step_error(op)
    return Checkpoint(
        step_id=op.id,
        name=display_name(op),
        op="StepFailed",
        status=StepStatus.FAILED,
        memo={"error": err},
        error=err,
        append_to_stack=True,
        attempts=attempts,
    )


def _no_progress(state: RunState, rv: int, what: str) -> Decision:
    """Call discovery again, counting an attempt; give up once attempts run out."""
    if state.attempt + 1 >= state.max_attempts:
        message = f"{what} on {state.attempt + 1} attempts in a row; giving up"
        return fail(state, rv, plain_error(message))
    return replace(carry(state, rv), attempt=state.attempt + 1, target="step", next=RunNow())


def _sleep(state: RunState, op: Op, until: datetime) -> tuple[Checkpoint, dict[str, Any]]:
    name = display_name(op)
    checkpoint = Checkpoint(
        step_id=op.id,
        name=name,
        op="Sleep",
        status=StepStatus.SLEEPING,
        attempts=state.attempt + 1,
    )
    wait = {"kind": "sleep", "step_id": op.id, "name": name, "until": format_instant(until)}
    return checkpoint, wait


def decide_ops(
    state: RunState, reply: OpsReply, rv: int, policy: RetryPolicy, rng: random.Random
) -> Decision:
    """The decision for a 206 reply. ``rv`` is the run's request version after this reply."""
    ops = [op for op in reply.ops if op.op not in _NOTHING]
    if not ops:
        return _no_progress(state, rv, "the app answered 206 with no opcodes")

    done = set(state.stack) | state.memo_keys
    stack = list(state.stack)
    checkpoints: list[Checkpoint] = []
    retry_op: Op | None = None
    final = reply.no_retry or state.attempt + 1 >= state.max_attempts
    for op in ops:
        kind = op.op
        if kind == "StepError":
            if not final:
                retry_op = retry_op or op
                continue
            kind = "StepFailed"
        if kind not in ("StepRun", "StepFailed") or op.id in done:
            continue
        checkpoints.append(_result(op, kind, state.attempt + 1))
        stack.append(op.id)
        done.add(op.id)

    unsupported = [op.op for op in ops if op.op not in SUPPORTED]
    if unsupported:
        message = f"opcode {unsupported[0]} is not supported yet"
        return fail(state, rv, plain_error(message), checkpoints, tuple(stack))

    complete = next((op for op in ops if op.op == "RunComplete"), None)
    if complete is not None:
        return replace(
            carry(state, rv),
            status=transition(state.status, RunStatus.COMPLETED),
            checkpoints=tuple(checkpoints),
            stack=tuple(stack),
            attempt=0,
            planned=(),
            planned_mode="wait",
            wait=None,
            output=complete.data,
            next=Finished(complete.data),
        )

    if retry_op is not None:
        err = _step_error(retry_op)
        retrying = Checkpoint(
            step_id=retry_op.id,
            name=display_name(retry_op),
            op="StepError",
            status=StepStatus.RETRYING,
            error=err,
            attempts=state.attempt + 1,
        )
        return retry(
            state, rv, policy, rng, reply.retry_after, [*checkpoints, retrying], tuple(stack)
        )

    return _advance(state, rv, ops, checkpoints, stack, done)


def _advance(
    state: RunState,
    rv: int,
    ops: list[Op],
    checkpoints: list[Checkpoint],
    stack: list[str],
    done: set[str],
) -> Decision:
    """Plan, sleep or call discovery, after the results of this reply are checkpointed."""
    remaining = [p for p in state.planned if p not in done]
    if any(op.op == "StepNotFound" for op in ops) and state.target in remaining:
        remaining.remove(state.target)
    mode: PlannedMode = state.planned_mode
    new_plans = 0
    for op in ops:
        if op.op != "StepPlanned" or op.id in done or op.id in remaining:
            continue
        remaining.append(op.id)
        new_plans += 1
        if isinstance(op.opts, Mapping) and op.opts.get("parallelMode") == "race":
            mode = "race"
    non_lazy = sum(1 for op in ops if op.op not in _LAZY)
    force = state.force_step_plan or non_lazy > 1

    sleep: tuple[Checkpoint, dict[str, Any]] | None = None
    until: datetime | None = None
    if not remaining:
        mode = "wait"
        if rv >= 2:
            force = False
        sleeps = [op for op in ops if op.op == "Sleep" and op.id not in done]
        try:
            timed = [(sleep_until(op, state.now), i) for i, op in enumerate(sleeps)]
        except EngineError as exc:
            return fail(state, rv, plain_error(str(exc)), checkpoints, tuple(stack))
        if timed:
            # The earliest sleep first; discovery reports any other again after it.
            until, index = min(timed)
            sleep = _sleep(state, sleeps[index], until)

    target_done = state.target != "step" and state.target not in remaining
    discovery = any(op.op == "DiscoveryRequest" for op in ops)
    if not remaining or (discovery and not new_plans):
        target = "step"
    elif target_done and mode == "race" and not new_plans:
        target = "step"  # race: discovery after each planned step
    else:
        target = remaining[0]

    moved = (
        checkpoints
        or new_plans
        or sleep is not None
        or remaining != list(state.planned)
        or target != state.target
        or discovery
    )
    if not moved:
        return _no_progress(state, rv, "the app answered 206 without moving the run forward")

    decision = replace(
        carry(state, rv),
        status=transition(state.status, RunStatus.RUNNING),
        checkpoints=tuple(checkpoints),
        stack=tuple(stack),
        attempt=0,
        force_step_plan=force,
        target=target,
        planned=tuple(remaining),
        planned_mode=mode,
        wait=None,
        next=RunNow(),
    )
    if sleep is not None and until is not None:
        checkpoint, wait = sleep
        return replace(
            decision,
            checkpoints=(*decision.checkpoints, checkpoint),
            wait=wait,
            next=RunAt(until, "sleep"),
        )
    return decision
