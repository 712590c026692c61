"""The step API user code calls: ``step.run``, ``step.sleep``, ``step.send_event`` and friends.

Each call hashes its id (§6), then either returns the memoized result the server sent back, or
stops the function with a ``StepInterrupt`` carrying the opcode that tells the server what to do
next. ``step.run`` is the exception: a new lone ``step.run`` executes right away and its output
is reported (immediate execution), unless the server disabled it or it is inside ``parallel``.
``Step`` is for ``async def`` functions, ``SyncStep`` for plain ``def`` functions.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .errors import (
    NestedStepInterrupt,
    NonRetriableError,
    RetryAfterError,
    SkipInterrupt,
    StepError,
    StepInterrupt,
    error_body,
)
from .event import Event
from .protocol import Op, Opcode, ProtocolError, format_duration, parse_duration, step_hash

if TYPE_CHECKING:
    from .client import Client
    from .function import Function
    from .protocol import CallRequest

T = TypeVar("T")

_in_parallel: contextvars.ContextVar[bool] = contextvars.ContextVar("in_parallel", default=False)
_in_step: contextvars.ContextVar[bool] = contextvars.ContextVar("in_step", default=False)

EventLike = Event | dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Context:
    """What a function knows about its run.

    ``attempt`` is zero-based and counts per step; ``logger`` stamps run and function ids.
    """

    event: Event
    events: list[Event]
    run_id: str
    attempt: int
    logger: logging.LoggerAdapter[logging.Logger]


@dataclasses.dataclass(frozen=True)
class _Memo:
    data: Any
    error: dict[str, Any] | None


def _read_memo(value: Any) -> _Memo:
    """An object whose only keys are ``data`` and/or ``error`` is an envelope; anything else
    (a matched event, ``null`` after a sleep) is the value itself (§8)."""
    if isinstance(value, dict) and set(value) <= {"data", "error"}:
        error = value.get("error")
        if error is None:
            return _Memo(value.get("data"), None)
        if (
            isinstance(error, dict)
            and isinstance(error.get("message"), str)
            and isinstance(error.get("name"), str)
        ):
            return _Memo(None, error)
    return _Memo(value, None)


def to_iso_utc(when: datetime.datetime) -> str:
    """``2026-11-22T06:47:40.750Z``: how the Python SDK writes sleep times. Naive is local."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class RunState:
    """Per-request state shared by the steps of one call: memos, id counters, targeting."""

    def __init__(
        self,
        request: CallRequest,
        target: str | None,
        clock: Callable[[], datetime.datetime],
    ) -> None:
        self.request = request
        self.target = target
        self.clock = clock
        self._memos = {k: _read_memo(v) for k, v in request.steps.items()}
        self._counts: dict[str, int] = {}

    def discover(
        self, user_id: str, op: str, *, name: str | None = None, opts: dict[str, Any] | None = None
    ) -> tuple[Opcode, _Memo | None]:
        """Find a step: return its memo, or raise the interrupt that reports it.

        For a new ``StepRun`` that may execute now, returns ``(opcode, None)``.
        """
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("step id must be a non-empty string")
        if _in_step.get():
            raise NestedStepInterrupt()
        index = self._counts.get(user_id, 0)
        self._counts[user_id] = index + 1
        hashed = step_hash(user_id, index)
        opcode = Opcode(
            op=op,
            id=hashed,
            name=user_id if name is None else name,
            display_name=user_id,
            opts=opts,
            userland={"id": user_id, "index": index or None},
        )
        if hashed in self._memos:
            memo = self._memos.pop(hashed)
            if memo.error is not None:
                raise StepError(
                    str(memo.error["message"]), str(memo.error["name"]), memo.error.get("stack")
                )
            return opcode, memo
        targeting = self.target is not None
        if targeting and self.target != hashed:
            raise SkipInterrupt(user_id)
        if (
            not targeting
            and op == Op.STEP_RUN
            and (_in_parallel.get() or self.request.disable_immediate_execution)
        ):
            raise StepInterrupt([dataclasses.replace(opcode, op=Op.STEP_PLANNED)])
        if not targeting and _in_parallel.get():
            raise StepInterrupt([opcode])
        if op == Op.STEP_RUN:
            return opcode, None
        raise StepInterrupt([opcode])

    def succeeded(self, opcode: Opcode, output: Any) -> StepInterrupt:
        return StepInterrupt([dataclasses.replace(opcode, data=output)])

    def failed(self, opcode: Opcode, err: Exception) -> StepInterrupt:
        max_attempts = self.request.max_attempts
        last = max_attempts is not None and self.request.attempt + 1 >= max_attempts
        op = Op.STEP_FAILED if last else Op.STEP_ERROR
        return StepInterrupt([dataclasses.replace(opcode, op=op, error=error_body(err))])

    def nested(self, opcode: Opcode) -> StepInterrupt:
        error = {
            "code": "step_nested",
            "message": "Nested steps are not supported.",
            "name": "CodedError",
            "stack": "CodedError: Nested steps are not supported.\n",
        }
        return StepInterrupt(
            [dataclasses.replace(opcode, op=Op.STEP_ERROR, error=error)], no_retry=True
        )

    def sleep_name(self, duration: datetime.timedelta | str) -> str:
        if isinstance(duration, str):
            try:
                duration = parse_duration(duration)
            except ProtocolError as err:
                raise ValueError(str(err)) from None
        if not isinstance(duration, datetime.timedelta):
            raise TypeError("duration must be a timedelta or a duration string like '2s'")
        return to_iso_utc(self.clock() + duration)


def _timeout_str(timeout: datetime.timedelta | str | None) -> str | None:
    if timeout is None or isinstance(timeout, str):
        return timeout
    return format_duration(timeout)


def _event_or_none(memo: _Memo) -> Event | None:
    return Event.from_json(memo.data) if isinstance(memo.data, dict) else None


def _invoke_opts(
    app_id: str,
    function: Function | str,
    data: dict[str, Any] | None,
    timeout: datetime.timedelta | str | None,
) -> dict[str, Any]:
    """A string names a function of this app by its local id, as in the Python SDK."""
    fn_id = f"{app_id}-{function}" if isinstance(function, str) else function.id
    return {
        "function_id": fn_id,
        "payload": {"data": data or {}, "v": None},
        "timeout": _timeout_str(timeout),
    }


class _StepBase:
    def __init__(self, client: Client, state: RunState) -> None:
        self._client = client
        self._state = state


class Step(_StepBase):
    """Steps for ``async def`` functions."""

    @overload
    async def run(self, step_id: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T: ...

    @overload
    async def run(self, step_id: str, fn: Callable[..., T], *args: Any) -> T: ...

    async def run(self, step_id: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` once, durably; on replay return its memoized (JSON) result.

        >>> total = await step.run("sum", add, 1, 2)  # doctest: +SKIP
        """
        opcode, memo = self._state.discover(step_id, Op.STEP_RUN)
        if memo is not None:
            return memo.data
        token = _in_step.set(True)
        try:
            result: Any = fn(*args)
            if inspect.isawaitable(result):
                result = await result
        except (NonRetriableError, RetryAfterError):
            raise
        except NestedStepInterrupt:
            raise self._state.nested(opcode) from None
        except Exception as err:
            raise self._state.failed(opcode, err) from None
        finally:
            _in_step.reset(token)
        raise self._state.succeeded(opcode, result)

    async def sleep(self, step_id: str, duration: datetime.timedelta | str) -> None:
        """Sleep durably for ``duration`` (a timedelta or a Go duration like ``"2s"``)."""
        self._state.discover(step_id, Op.SLEEP, name=self._state.sleep_name(duration))

    async def sleep_until(self, step_id: str, when: datetime.datetime) -> None:
        """Sleep durably until ``when`` (naive datetimes are local time)."""
        self._state.discover(step_id, Op.SLEEP, name=to_iso_utc(when))

    async def send_event(self, step_id: str, events: EventLike | Sequence[EventLike]) -> list[str]:
        """Send events as a step; returns their ids (memoized on replay)."""

        async def send() -> list[str]:
            return await self._client.send(events)

        return await self.run(step_id, send)

    async def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: datetime.timedelta | str,  # noqa: ASYNC109 - a durable timeout
        if_exp: str | None = None,
    ) -> Event | None:
        """Wait for an event named ``event`` (matching ``if_exp``); None after ``timeout``."""
        opts = {"if": if_exp, "timeout": _timeout_str(timeout)}
        _, memo = self._state.discover(step_id, Op.WAIT_FOR_EVENT, name=event, opts=opts)
        assert memo is not None
        return _event_or_none(memo)

    async def invoke(
        self,
        step_id: str,
        *,
        function: Function | str,
        data: dict[str, Any] | None = None,
        timeout: datetime.timedelta | str | None = None,  # noqa: ASYNC109
    ) -> Any:
        """Run another function and return its result (raises StepError if it failed)."""
        opts = _invoke_opts(self._client.app_id, function, data, timeout)
        _, memo = self._state.discover(step_id, Op.INVOKE_FUNCTION, opts=opts)
        assert memo is not None
        return memo.data

    async def parallel(self, callables: Sequence[Callable[[], Awaitable[T]]]) -> tuple[T, ...]:
        """Run several steps in parallel: ``await step.parallel([lambda: step.run(...), ...])``."""
        token = _in_parallel.set(True)
        try:
            outputs: list[T] = []
            found: list[Opcode] = []
            for cb in callables:
                try:
                    outputs.append(await cb())
                except StepInterrupt as interrupt:
                    found.extend(interrupt.opcodes)
                except SkipInterrupt:
                    pass
            if found:
                raise StepInterrupt(found)
            return tuple(outputs)
        finally:
            _in_parallel.reset(token)


class SyncStep(_StepBase):
    """Steps for plain ``def`` functions (they run in a worker thread)."""

    def run(self, step_id: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` once, durably; on replay return its memoized (JSON) result."""
        opcode, memo = self._state.discover(step_id, Op.STEP_RUN)
        if memo is not None:
            return memo.data  # type: ignore[no-any-return]
        token = _in_step.set(True)
        try:
            result = fn(*args)
        except (NonRetriableError, RetryAfterError):
            raise
        except NestedStepInterrupt:
            raise self._state.nested(opcode) from None
        except Exception as err:
            raise self._state.failed(opcode, err) from None
        finally:
            _in_step.reset(token)
        raise self._state.succeeded(opcode, result)

    def sleep(self, step_id: str, duration: datetime.timedelta | str) -> None:
        """Sleep durably for ``duration`` (a timedelta or a Go duration like ``"2s"``)."""
        self._state.discover(step_id, Op.SLEEP, name=self._state.sleep_name(duration))

    def sleep_until(self, step_id: str, when: datetime.datetime) -> None:
        """Sleep durably until ``when`` (naive datetimes are local time)."""
        self._state.discover(step_id, Op.SLEEP, name=to_iso_utc(when))

    def send_event(self, step_id: str, events: EventLike | Sequence[EventLike]) -> list[str]:
        """Send events as a step; returns their ids (memoized on replay)."""
        return self.run(step_id, self._client.send_sync, events)

    def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: datetime.timedelta | str,
        if_exp: str | None = None,
    ) -> Event | None:
        """Wait for an event named ``event`` (matching ``if_exp``); None after ``timeout``."""
        opts = {"if": if_exp, "timeout": _timeout_str(timeout)}
        _, memo = self._state.discover(step_id, Op.WAIT_FOR_EVENT, name=event, opts=opts)
        assert memo is not None
        return _event_or_none(memo)

    def invoke(
        self,
        step_id: str,
        *,
        function: Function | str,
        data: dict[str, Any] | None = None,
        timeout: datetime.timedelta | str | None = None,
    ) -> Any:
        """Run another function and return its result (raises StepError if it failed)."""
        opts = _invoke_opts(self._client.app_id, function, data, timeout)
        _, memo = self._state.discover(step_id, Op.INVOKE_FUNCTION, opts=opts)
        assert memo is not None
        return memo.data

    def parallel(self, callables: Sequence[Callable[[], T]]) -> tuple[T, ...]:
        """Run several steps in parallel: ``step.parallel([lambda: step.run(...), ...])``."""
        token = _in_parallel.set(True)
        try:
            outputs: list[T] = []
            found: list[Opcode] = []
            for cb in callables:
                try:
                    outputs.append(cb())
                except StepInterrupt as interrupt:
                    found.extend(interrupt.opcodes)
                except SkipInterrupt:
                    pass
            if found:
                raise StepInterrupt(found)
            return tuple(outputs)
        finally:
            _in_parallel.reset(token)
