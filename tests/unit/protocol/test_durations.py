from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headrace.protocol import ProtocolError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", dt.timedelta(seconds=30)),
        ("1m", dt.timedelta(minutes=1)),
        ("1h30m", dt.timedelta(hours=1, minutes=30)),
        ("1d", dt.timedelta(days=1)),
        ("1w", dt.timedelta(weeks=1)),
        ("500ms", dt.timedelta(milliseconds=500)),
        ("1.5h", dt.timedelta(minutes=90)),
        ("2us", dt.timedelta(microseconds=2)),
        ("1500ns", dt.timedelta(microseconds=2)),
        ("0", dt.timedelta(0)),
        (" 5s ", dt.timedelta(seconds=5)),
    ],
)
def test_parse(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "s", "5", "-5s", "5x", "5s garbage", "1h 30m", "ms5"])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_duration(text)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(ProtocolError):
        parse_duration(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (dt.timedelta(0), "0s"),
        (dt.timedelta(weeks=2), "2w"),
        (dt.timedelta(days=3), "3d"),
        (dt.timedelta(hours=1, minutes=30), "1h30m"),
        (dt.timedelta(milliseconds=500), "500ms"),
        (dt.timedelta(seconds=61, microseconds=7), "1m1s7us"),
    ],
)
def test_format(td: dt.timedelta, text: str) -> None:
    assert format_duration(td) == text


def test_format_rejects_negative() -> None:
    with pytest.raises(ProtocolError):
        format_duration(dt.timedelta(seconds=-1))


@given(st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3650)))
def test_round_trip(td: dt.timedelta) -> None:
    assert parse_duration(format_duration(td)) == td
