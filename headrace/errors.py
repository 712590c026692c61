"""Errors of the Headrace SDK.

::

    HeadraceError(Exception)              everything the SDK raises on purpose
    ├── NonRetriableError                 raise it: the run fails now, no retries
    ├── RetryAfterError                   raise it: retry the run, not before ``retry_after``
    ├── StepError                         a step failed for good; raised where it is awaited
    ├── SendEventError                    the event API refused or could not be reached
    └── ConfigError                       a client or function is declared wrongly
    headrace.protocol.ProtocolError(ValueError)   the server sent something unreadable

    Interrupt(BaseException)              control flow; user code never sees it
    ├── StepInterrupt                     new step(s) found: stop and report opcodes
    ├── SkipInterrupt                     targeted run: this is not the targeted step
    └── NestedStepInterrupt               a step was started inside another step

Interrupts subclass ``BaseException`` so that a user's ``except Exception`` cannot swallow
them. Errors carry ``retriable`` (and ``retry_after``) so the HTTP layer can tell the server
whether to retry.
"""

from __future__ import annotations

import datetime
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol import Opcode


class HeadraceError(Exception):
    """Base of all SDK errors. ``code`` is sent to the server in error bodies."""

    code = "unknown"
    retriable = True

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NonRetriableError(HeadraceError):
    """Fail the run at once, whatever retries remain.

    >>> raise NonRetriableError("the order no longer exists")  # doctest: +SKIP
    """

    code = "non_retriable_error"
    retriable = False


class RetryAfterError(HeadraceError):
    """Retry the run, but not before ``retry_after``.

    ``retry_after`` is a delay (timedelta, or int seconds) or an absolute time (an aware
    datetime; a naive one is taken as UTC).

    >>> raise RetryAfterError("rate limited", datetime.timedelta(seconds=30))  # doctest: +SKIP
    """

    code = "retry_after_error"

    def __init__(
        self,
        message: str,
        retry_after: datetime.timedelta | datetime.datetime | int,
        *,
        now: datetime.datetime | None = None,
    ) -> None:
        super().__init__(message)
        current = now or datetime.datetime.now(datetime.UTC)
        if isinstance(retry_after, datetime.datetime):
            when = retry_after
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.UTC)
        elif isinstance(retry_after, datetime.timedelta):
            when = current + retry_after
        elif isinstance(retry_after, int) and not isinstance(retry_after, bool):
            when = current + datetime.timedelta(seconds=retry_after)
        else:
            raise TypeError("retry_after must be a timedelta, a datetime or int seconds")
        self.retry_after: datetime.datetime = when.astimezone(datetime.UTC)


class StepError(HeadraceError):
    """A step failed after all its attempts; raised where the step is awaited on replay.

    ``name``, ``message`` and ``stack`` describe the original error. Uncaught, it fails the run
    without further retries.
    """

    code = "step_errored"
    retriable = False

    def __init__(self, message: str, name: str, stack: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.stack = stack


class SendEventError(HeadraceError):
    """Sending events failed. ``ids`` holds the ids the server did accept, if any."""

    def __init__(self, message: str, ids: list[str] | None = None) -> None:
        super().__init__(message)
        self.ids = ids or []


class ConfigError(HeadraceError):
    """A client or function declaration is invalid."""

    retriable = False


class Interrupt(BaseException):
    """Base of the SDK's control-flow signals."""


class StepInterrupt(Interrupt):
    """Stop the function: these opcodes go back to the server."""

    def __init__(self, opcodes: list[Opcode], *, no_retry: bool = False) -> None:
        super().__init__()
        self.opcodes = opcodes
        self.no_retry = no_retry


class SkipInterrupt(Interrupt):
    """A different step is targeted; ``step_id`` is the user-facing id that was skipped."""

    def __init__(self, step_id: str) -> None:
        super().__init__(step_id)
        self.step_id = step_id


class NestedStepInterrupt(Interrupt):
    """A step was started while another step's code was running."""


def error_body(err: BaseException, *, code: str | None = None) -> dict[str, Any]:
    """The ``{code, message, name, stack}`` object the Python SDK puts in error replies."""
    if isinstance(err, StepError):
        return {
            "code": code or err.code,
            "message": err.message,
            "name": err.name,
            "stack": err.stack,
        }
    stack = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return {
        "code": code or (err.code if isinstance(err, HeadraceError) else "unknown"),
        "message": str(err),
        "name": type(err).__name__,
        "stack": stack,
    }
