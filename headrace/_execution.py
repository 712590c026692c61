"""The memo/replay loop: one call request in, one HTTP reply out (§7, §8, §10).

Pure apart from the user's code: no HTTP here, and the clock is injected. The replies match what
the official Python SDK (0.5.19) sends, status by status:

========================================  ======  =========================================
situation                                 status  body / headers
========================================  ======  =========================================
function returned                         200     the return value
step(s) found or a step.run executed      206     ``[opcode, ...]``
step raised, attempts left / last one     206     ``[StepError]`` / ``[StepFailed]``
nested step                               206     ``[StepError]``, ``x-inngest-no-retry: true``
function raised                           500     ``{code, message, name, stack}``
NonRetriableError, uncaught StepError     500     + ``x-inngest-no-retry: true``
RetryAfterError                           500     + ``retry-after: <ISO time>``
targeted step not found                   500     ``code: step_unexpected``
========================================  ======  =========================================
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import (
    NonRetriableError,
    RetryAfterError,
    SkipInterrupt,
    StepError,
    StepInterrupt,
    error_body,
)
from .event import Event
from .protocol import CallRequest
from .protocol import headers as h
from .step import Context, RunState, Step, SyncStep, to_iso_utc

if TYPE_CHECKING:
    from .client import Client
    from .function import Function

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class CallResponse:
    """An HTTP reply to the server: status, the headers specific to this reply, JSON bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def dump_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def error_response(code: str, message: str, name: str, status: int = 500) -> CallResponse:
    """An SDK-level failure (unknown function, bad body): ``{code, message, name}``."""
    return CallResponse(status, {}, dump_json({"code": code, "message": message, "name": name}))


@dataclasses.dataclass(frozen=True)
class _Returned:
    value: Any


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def target_of(step_id: str | None) -> str | None:
    """``stepId=step`` (or none) means discovery; anything else is a targeted step hash."""
    return None if step_id in (None, "", "step") else step_id


def _context(fn: Function, request: CallRequest) -> Context:
    base = logging.getLogger("headrace.function")
    extra = {"run_id": request.run_id, "function_id": fn.id}
    return Context(
        event=Event.from_json(request.event),
        events=[Event.from_json(e) for e in request.events],
        run_id=request.run_id,
        attempt=request.attempt,
        logger=logging.LoggerAdapter(base, extra),
    )


async def _run_async(fn: Function, ctx: Context, step: Step) -> _Returned | BaseException:
    try:
        return _Returned(await fn.handler(ctx, step))
    except (StepInterrupt, SkipInterrupt, Exception) as outcome:
        return outcome


def _run_sync(fn: Function, ctx: Context, step: SyncStep) -> _Returned | BaseException:
    try:
        return _Returned(fn.handler(ctx, step))
    except (StepInterrupt, SkipInterrupt, Exception) as outcome:
        return outcome


async def execute(
    client: Client,
    fn: Function,
    request: CallRequest,
    *,
    step_id: str | None = "step",
    clock: Callable[[], datetime.datetime] = _utc_now,
) -> CallResponse:
    """Run ``fn`` against ``request`` and build the reply. ``step_id`` is the ``stepId``
    query parameter. Sync functions run in a worker thread so the event loop stays free."""
    state = RunState(request, target_of(step_id), clock)
    ctx = _context(fn, request)
    if fn.is_async:
        outcome = await _run_async(fn, ctx, Step(client, state))
    else:
        outcome = await asyncio.to_thread(_run_sync, fn, ctx, SyncStep(client, state))
    return _reply(fn, request, outcome)


def _reply(fn: Function, request: CallRequest, outcome: _Returned | BaseException) -> CallResponse:
    headers: dict[str, str] = {}
    if isinstance(outcome, _Returned):
        return _serialized(200, headers, outcome.value, f"function {fn.local_id!r}")
    if isinstance(outcome, StepInterrupt):
        if outcome.no_retry:
            headers[h.NO_RETRY] = "true"
        body = [op.to_json() for op in outcome.opcodes]
        return _serialized(206, headers, body, f"step {outcome.opcodes[0].display_name!r}")
    if isinstance(outcome, SkipInterrupt):
        message = f'found step "{outcome.step_id}" when targeting a different step'
        unexpected = {
            "code": "step_unexpected",
            "message": message,
            "name": "StepUnexpectedError",
            "stack": None,
        }
        return CallResponse(500, headers, dump_json(unexpected))
    if isinstance(outcome, StepError | NonRetriableError):
        headers[h.NO_RETRY] = "true"
    if isinstance(outcome, RetryAfterError):
        headers[h.RETRY_AFTER] = to_iso_utc(outcome.retry_after)
    logger.info("function %s failed: %s", fn.id, outcome, extra={"run_id": request.run_id})
    return CallResponse(500, headers, dump_json(error_body(outcome)))


def _serialized(status: int, headers: dict[str, str], body: Any, what: str) -> CallResponse:
    try:
        return CallResponse(status, headers, dump_json(body))
    except (TypeError, ValueError) as err:
        message = f"{what} returned unserializable data: {err}"
        return error_response("output_unserializable", message, "OutputUnserializableError")
