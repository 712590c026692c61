"""How long a ``Sleep`` op sleeps.

The SDKs say it two ways (wire protocol §8): Python sends the absolute wake-up time as the op's
``name`` (``"2026-11-22T06:47:40.750Z"``); TypeScript sends a Go-style duration (``"2s"``),
sometimes in ``opts.duration``, which wins over ``name``. A string of length ≥ 10 that parses as
a date is an absolute time; anything else must be a duration. A sleep lasts at most one year.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from services.core.engine.errors import EngineError
from services.core.engine.inputs import Op

MAX_SLEEP = timedelta(days=365)

_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)")


def parse_duration(text: str) -> timedelta:
    """Parse a Go duration string, plus days and weeks.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)

    Raises ``EngineError`` on anything else (negative, empty, unknown unit).
    """
    s = text.strip()
    if s == "0":
        return timedelta(0)
    if not s:
        raise EngineError("empty sleep duration")
    pos = 0
    seconds = 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        seconds += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise EngineError(f"invalid sleep duration {text!r}")
    if seconds > MAX_SLEEP.total_seconds() * 2:
        # Far beyond any cap; avoid timedelta overflow on absurd inputs.
        return MAX_SLEEP * 2
    return timedelta(seconds=seconds)


def parse_instant(text: str) -> datetime | None:
    """An absolute time if ``text`` is one (length ≥ 10, ISO 8601), else ``None``.

    A time without a zone is taken as UTC.
    """
    s = text.strip()
    if len(s) < 10:
        return None
    try:
        when = datetime.fromisoformat(s)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _wake_time(value: Any, now: datetime) -> datetime:
    if isinstance(value, bool):
        raise EngineError(f"invalid sleep duration {value!r}")
    if isinstance(value, int | float):
        # A bare number is milliseconds, as the TS SDK's own time helpers read it.
        if value < 0:
            raise EngineError(f"invalid sleep duration {value!r}")
        return now + min(timedelta(milliseconds=value), MAX_SLEEP)
    if not isinstance(value, str):
        raise EngineError(f"invalid sleep duration {value!r}")
    instant = parse_instant(value)
    if instant is not None:
        return instant
    return now + min(parse_duration(value), MAX_SLEEP)


def sleep_until(op: Op, now: datetime) -> datetime:
    """When a ``Sleep`` op wakes up: never before ``now``, never after ``now`` + one year."""
    opts = op.opts
    value: Any = None
    if isinstance(opts, Mapping):
        value = opts.get("duration")
    if value is None or value == "":
        value = op.name
    when = _wake_time(value, now)
    return max(now, min(when, now + MAX_SLEEP))


def format_instant(when: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, milliseconds, as the SDKs write times."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
