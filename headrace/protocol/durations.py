"""Go-style duration strings, as used in sleeps, timeouts and flow-control periods.

Grammar: one or more ``<number><unit>`` pairs, units ``ns us µs ms s m h`` (Go's
``time.ParseDuration``) plus ``d`` and ``w`` (which the Inngest SDKs emit). Fractions are allowed
(``"1.5h"``); a bare ``"0"`` is zero, as in Go. Resolution is a microsecond (timedelta's).
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from .errors import ProtocolError

_UNIT_US: dict[str, int] = {
    "ns": 0,  # handled separately: below timedelta resolution
    "us": 1,
    "µs": 1,
    "μs": 1,
    "ms": 1_000,
    "s": 1_000_000,
    "m": 60_000_000,
    "h": 3_600_000_000,
    "d": 86_400_000_000,
    "w": 604_800_000_000,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)")
_MAX_LEN = 100


def parse_duration(s: str) -> datetime.timedelta:
    """Parse ``"30s"``, ``"1h30m"``, ``"500ms"``, ``"1d"``, ``"1w"`` into a timedelta.

    Raises ProtocolError for anything else (empty, negative, unknown unit, trailing garbage).
    """
    if not isinstance(s, str):
        raise ProtocolError(f"duration must be a string, got {type(s).__name__}")
    text = s.strip()
    if text == "0":
        return datetime.timedelta(0)
    if not text or len(text) > _MAX_LEN:
        raise ProtocolError(f"invalid duration {s!r}")
    pos = 0
    total_ns = Decimal(0)
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            raise ProtocolError(f"invalid duration {s!r}: cannot read {text[pos:]!r}")
        number, unit = match.groups()
        try:
            value = Decimal(number)
        except InvalidOperation as err:  # pragma: no cover - the regex admits only numbers
            raise ProtocolError(f"invalid duration {s!r}") from err
        total_ns += value if unit == "ns" else value * _UNIT_US[unit] * 1000
        pos = match.end()
    micros = int((total_ns / 1000).to_integral_value())
    try:
        return datetime.timedelta(microseconds=micros)
    except OverflowError as err:
        raise ProtocolError(f"duration {s!r} is too large") from err


def format_duration(td: datetime.timedelta) -> str:
    """The shortest exact Go-style string for ``td``: ``"1w"``, ``"2d"``, ``"1h30m"``, ``"500ms"``.

    Whole weeks and days use ``w`` and ``d`` (as the SDKs emit); anything else is spelled in
    ``h m s ms us`` so that ``parse_duration(format_duration(td)) == td``.
    """
    micros = (td.days * 86_400 + td.seconds) * 1_000_000 + td.microseconds
    if micros < 0:
        raise ProtocolError("duration cannot be negative")
    if micros == 0:
        return "0s"
    for unit in ("w", "d"):
        if micros % _UNIT_US[unit] == 0:
            return f"{micros // _UNIT_US[unit]}{unit}"
    parts: list[str] = []
    for unit in ("h", "m", "s", "ms", "us"):
        size = _UNIT_US[unit]
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
