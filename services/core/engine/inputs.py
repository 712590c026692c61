"""What the engine is given: a run's stored state and the app's classified reply.

The executor reads the run from Postgres (``RunState.from_run``), makes the HTTP call, and sorts
the answer into one of four replies:

    OpsReply          206 with an opcode array (wire protocol §8)
    DoneReply         200: the function returned
    ErrorReply        a function-level error status (500, 400, ...)
    TransportFailure  timeout, connection error, a response not from an SDK, an unparsable body
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from services.core.engine.retry import RetryPolicy
from services.core.model import Run, RunStatus

if TYPE_CHECKING:
    from services.core.engine.decision import Decision

__all__ = [
    "DoneReply",
    "ErrorReply",
    "Op",
    "OpsReply",
    "PlannedMode",
    "Reply",
    "RetryPolicy",
    "RunState",
    "StepOp",
    "TransportFailure",
]

PlannedMode = Literal["wait", "race"]


class Op(Protocol):
    """One opcode of a 206 reply. ``headrace.protocol.Opcode`` satisfies it as is."""

    @property
    def op(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def display_name(self) -> str | None: ...
    @property
    def opts(self) -> Mapping[str, Any] | None: ...
    @property
    def data(self) -> Any: ...
    @property
    def error(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class StepOp:
    """A plain ``Op``, for tests and for callers without ``headrace.protocol``."""

    op: str
    id: str = ""
    name: str = ""
    display_name: str | None = None
    opts: dict[str, Any] | None = None
    data: Any = None
    error: dict[str, Any] | None = None
    userland: dict[str, Any] | None = None

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> StepOp:
        """Read one opcode object leniently (unknown keys, like TS's internal ones, ignored).

        >>> StepOp.from_wire({"op": "StepRun", "id": "e0", "name": "first", "data": 1}).data
        1
        """
        opts = raw.get("opts")
        error = raw.get("error")
        userland = raw.get("userland")
        return cls(
            op=str(raw.get("op") or ""),
            id=str(raw.get("id") or ""),
            name=str(raw.get("name") or ""),
            display_name=raw.get("displayName") or raw.get("display_name"),
            opts=dict(opts) if isinstance(opts, Mapping) else None,
            data=raw.get("data"),
            error=dict(error) if isinstance(error, Mapping) else None,
            userland=dict(userland) if isinstance(userland, Mapping) else None,
        )


@dataclass(frozen=True, slots=True)
class OpsReply:
    """A 206: the opcodes, the ``x-inngest-req-version``, ``x-inngest-no-retry`` and
    ``Retry-After`` headers."""

    ops: Sequence[Op]
    request_version: int | None = None
    no_retry: bool = False
    retry_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class DoneReply:
    """A 200: the function's return value."""

    output: Any
    request_version: int | None = None


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """A function-level error status.

    ``no_retry`` is the ``x-inngest-no-retry`` header: ``None`` when absent (then a 4xx is not
    retried and anything else is, as Go's ``ShouldRetry`` reads it).
    """

    status: int
    body: Any = None
    no_retry: bool | None = None
    retry_after: datetime | None = None
    message: str = ""

    @property
    def retriable(self) -> bool:
        if self.no_retry is not None:
            return not self.no_retry
        return not 400 <= self.status < 500


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """No usable answer: timeout, connection error, not from an SDK, unparsable."""

    message: str


Reply = OpsReply | DoneReply | ErrorReply | TransportFailure


@dataclass(frozen=True, slots=True)
class RunState:
    """What the engine needs of a run.

    ``attempt`` is zero-based and counts per queue item; ``stack`` lists completed hashed step
    ids in completion order; ``target`` is ``"step"`` (discovery) or a planned step's hash;
    ``planned`` lists planned steps still to run; ``wait`` is what the run sleeps on, if anything.
    """

    run_id: str
    status: RunStatus
    now: datetime
    attempt: int = 0
    max_attempts: int = 5
    stack: tuple[str, ...] = ()
    memo_keys: frozenset[str] = frozenset()
    request_version: int = -1
    force_step_plan: bool = False
    target: str = "step"
    planned: tuple[str, ...] = ()
    planned_mode: PlannedMode = "wait"
    wait: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("RunState.now must be timezone-aware")

    @classmethod
    def from_run(cls, run: Run, now: datetime, memo_keys: frozenset[str] | None = None) -> RunState:
        """The engine's view of a stored run; ``memo_keys`` defaults to the stack."""
        mode = run.planned_mode
        return cls(
            run_id=run.id,
            status=run.status,
            now=now.astimezone(UTC),
            attempt=run.attempt,
            max_attempts=run.max_attempts,
            stack=run.stack,
            memo_keys=frozenset(run.stack) if memo_keys is None else memo_keys,
            request_version=run.request_version,
            force_step_plan=run.force_step_plan,
            target=run.target,
            planned=run.planned,
            planned_mode="race" if mode == "race" else "wait",
            wait=run.wait,
        )

    def advance(self, decision: Decision, now: datetime | None = None) -> RunState:
        """The state after applying ``decision`` (what the executor would store), at ``now``."""
        if decision.ignored:
            return self if now is None else replace(self, now=now)
        done = {c.step_id for c in decision.checkpoints if c.append_to_stack}
        return replace(
            self,
            now=self.now if now is None else now,
            status=decision.status,
            attempt=decision.attempt,
            stack=decision.stack,
            memo_keys=self.memo_keys | done,
            request_version=decision.request_version,
            force_step_plan=decision.force_step_plan,
            target=decision.target,
            planned=decision.planned,
            planned_mode=decision.planned_mode,
            wait=decision.wait,
        )
