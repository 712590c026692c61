"""Opcodes: what an SDK reports in a 206 reply (§7, §8).

Parsing is lenient on purpose. The TS SDK adds ``timing``, ``mode``, ``rawArgs``, ``hashedId``
and other internal keys; they are ignored (and kept in ``raw``). Only ``op`` is required.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from .durations import parse_duration
from .errors import ProtocolError


class Op:
    """Opcode names as they appear in ``op``."""

    STEP_RUN = "StepRun"
    STEP = "Step"
    STEP_PLANNED = "StepPlanned"
    STEP_ERROR = "StepError"
    STEP_FAILED = "StepFailed"
    SLEEP = "Sleep"
    WAIT_FOR_EVENT = "WaitForEvent"
    INVOKE_FUNCTION = "InvokeFunction"
    AI_GATEWAY = "AIGateway"
    GATEWAY = "Gateway"
    WAIT_FOR_SIGNAL = "WaitForSignal"
    RUN_COMPLETE = "RunComplete"
    DISCOVERY_REQUEST = "DiscoveryRequest"
    STEP_NOT_FOUND = "StepNotFound"
    NONE = "None"


MAX_SLEEP = datetime.timedelta(days=365)


@dataclasses.dataclass(frozen=True)
class Opcode:
    """One generator opcode. ``id`` is the hashed step id; ``name`` is op-specific."""

    op: str
    id: str = ""
    name: str = ""
    display_name: str | None = None
    opts: dict[str, Any] | None = None
    data: Any = None
    error: dict[str, Any] | None = None
    userland: dict[str, Any] | None = None
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, obj: Any) -> Opcode:
        """Read one opcode object; unknown keys are ignored."""
        if not isinstance(obj, dict):
            raise ProtocolError(f"opcode must be an object, got {type(obj).__name__}")
        op = obj.get("op")
        if not isinstance(op, str) or not op:
            raise ProtocolError("opcode is missing its 'op' field")
        step_id = obj.get("id", "")
        name = obj.get("name", "")
        display = obj.get("displayName")
        opts = obj.get("opts")
        error = obj.get("error")
        userland = obj.get("userland")
        if not isinstance(step_id, str):
            raise ProtocolError(f"opcode {op}: 'id' must be a string")
        if name is None:
            name = ""
        if not isinstance(name, str):
            raise ProtocolError(f"opcode {op}: 'name' must be a string")
        if display is not None and not isinstance(display, str):
            raise ProtocolError(f"opcode {op}: 'displayName' must be a string")
        if opts is not None and not isinstance(opts, dict):
            raise ProtocolError(f"opcode {op}: 'opts' must be an object")
        if error is not None and not isinstance(error, dict):
            raise ProtocolError(f"opcode {op}: 'error' must be an object")
        if userland is not None and not isinstance(userland, dict):
            userland = None
        return cls(
            op=op,
            id=step_id,
            name=name,
            display_name=display,
            opts=opts,
            data=obj.get("data"),
            error=error,
            userland=userland,
            raw=dict(obj),
        )

    def to_json(self) -> dict[str, Any]:
        """The object an SDK sends; key order follows the Python SDK."""
        out: dict[str, Any] = {}
        if self.display_name is not None:
            out["displayName"] = self.display_name
        out["id"] = self.id
        out["name"] = self.name
        out["op"] = self.op
        out["opts"] = self.opts
        out["userland"] = self.userland
        if self.error is not None:
            out["error"] = self.error
        out["data"] = self.data
        return out


def parse_opcodes(payload: Any) -> list[Opcode]:
    """Read a 206 body: an array of opcodes, or (0.x SDKs) one bare opcode object."""
    if isinstance(payload, dict):
        return [Opcode.from_json(payload)]
    if isinstance(payload, list):
        return [Opcode.from_json(item) for item in payload]
    raise ProtocolError(f"opcodes must be an array or an object, got {type(payload).__name__}")


def _parse_time(text: str) -> datetime.datetime | None:
    if len(text) < 10:
        return None
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when


def sleep_until(op: Opcode, now: datetime.datetime) -> datetime.datetime:
    """When a ``Sleep`` opcode wakes up (§8): ``opts.duration``, else ``name``.

    ``name`` is an absolute ISO time (Python SDK, ``sleepUntil``) or a duration (TS ``sleep``).
    The result is capped at one year from ``now``; ``now`` must be aware.
    """
    source: Any = (op.opts or {}).get("duration") or op.name
    if isinstance(source, int | float) and not isinstance(source, bool):
        when = now + datetime.timedelta(milliseconds=source)
    elif isinstance(source, str) and source:
        absolute = _parse_time(source)
        when = absolute if absolute is not None else now + parse_duration(source)
    else:
        raise ProtocolError(f"sleep {op.id!r} has neither a duration nor a time")
    return min(when, now + MAX_SLEEP)
