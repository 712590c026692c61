"""Validation of an event request body (wire protocol §11), all or nothing.

A body is one event object or an array of them::

    {"name": "order/created", "data": {...}, "user": {...}, "id": "...", "ts": 1700000000000,
     "v": "2024-01-01"}

Only ``name`` is required. ``data`` and ``user`` default to ``{}``, ``ts`` to the time the
request was received. The sender's ``id`` is not the event's id: it becomes the idempotency key,
and every accepted event gets a fresh ULID. One invalid event rejects the whole request, so a
producer never has to work out which of its events were taken.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from services.core.errors import EventRejected
from services.core.model import Event

RESERVED_PREFIX = "inngest/"


def parse_body(raw: bytes) -> list[Any]:
    """The request's events as raw JSON values, or EventRejected (400)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventRejected(f"request body is not valid JSON: {exc}") from None
    if isinstance(body, dict):
        return [body]
    if not isinstance(body, list):
        raise EventRejected(
            f"request body must be an event object or an array of events, not {_kind(body)}"
        )
    if not body:
        raise EventRejected("request body is an empty array: send at least one event")
    return body


def validate_events(
    items: list[Any],
    *,
    max_events: int,
    max_event_bytes: int,
    now_ms: int,
    new_id: Callable[[], str],
) -> list[Event]:
    """Turn raw event objects into Events, or raise EventRejected for the first bad one."""
    if len(items) > max_events:
        raise EventRejected(f"too many events: {len(items)} > {max_events}")
    # Check everything before assigning ids, so a rejected request consumes nothing.
    checked = [_check(i, item, max_event_bytes) for i, item in enumerate(items)]
    return [
        Event(
            id=new_id(),
            name=c["name"],
            data=c["data"],
            user=c["user"],
            ts=c["ts"] if c["ts"] is not None else now_ms,
            v=c["v"],
            idempotency_key=c["id"],
        )
        for c in checked
    ]


def _check(index: int, item: Any, max_event_bytes: int) -> dict[str, Any]:
    where = f"event {index}"
    if not isinstance(item, dict):
        raise EventRejected(f"{where}: must be an object, not {_kind(item)}")
    size = len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > max_event_bytes:
        raise EventRejected(
            f"{where}: is {size} bytes, over the limit of {max_event_bytes} bytes", status=413
        )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise EventRejected(f"{where}: name is required and must be a non-empty string")
    if name.startswith(RESERVED_PREFIX):
        raise EventRejected(
            f"{where}: event name {name!r} is reserved (names starting {RESERVED_PREFIX!r}"
            " are internal)"
        )
    return {
        "name": name,
        "data": _object(item, "data", where),
        "user": _object(item, "user", where),
        "ts": _ts(item.get("ts"), where),
        "id": _opt_str(item, "id", where) or None,
        "v": _opt_str(item, "v", where),
    }


def _object(item: dict[str, Any], field: str, where: str) -> dict[str, Any]:
    value = item.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventRejected(f"{where}: {field} must be an object, not {_kind(value)}")
    return value


def _ts(value: Any, where: str) -> int | None:
    """Milliseconds since the epoch; missing or 0 means "now" (SDKs send 0 for unset)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventRejected(
            f"{where}: ts must be an integer (milliseconds since the epoch), not {value!r}"
        )
    if value < 0:
        raise EventRejected(f"{where}: ts must not be negative, got {value}")
    return value or None


def _opt_str(item: dict[str, Any], field: str, where: str) -> str | None:
    value = item.get(field)
    if value is not None and not isinstance(value, str):
        raise EventRejected(f"{where}: {field} must be a string, not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
