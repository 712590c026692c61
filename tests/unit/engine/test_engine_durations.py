from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.core.engine import MAX_SLEEP, EngineError, StepOp, parse_duration, sleep_until
from services.core.engine.durations import format_instant, parse_instant

NOW = datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("1m", timedelta(minutes=1)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("1.5h", timedelta(minutes=90)),
        ("0", timedelta(0)),
        ("2h45m30s", timedelta(hours=2, minutes=45, seconds=30)),
    ],
)
def test_go_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "10", "-5s", "5 s", "1h junk", "s", "1y"])
def test_garbage_durations_raise(text: str) -> None:
    with pytest.raises(EngineError):
        parse_duration(text)


def test_python_sleep_is_an_absolute_name() -> None:
    op = StepOp(op="Sleep", id="c2", name="2026-11-22T06:47:40.750Z")
    assert sleep_until(op, NOW) == datetime(2026, 11, 22, 6, 47, 40, 750000, tzinfo=UTC)


def test_ts_sleep_is_a_duration_name() -> None:
    op = StepOp(op="Sleep", id="c2", name="2s", opts={})
    assert sleep_until(op, NOW) == NOW + timedelta(seconds=2)


def test_opts_duration_wins_over_name() -> None:
    op = StepOp(op="Sleep", id="c2", name="nap", opts={"duration": "1h30m"})
    assert sleep_until(op, NOW) == NOW + timedelta(minutes=90)


def test_sleep_is_capped_at_one_year_and_never_in_the_past() -> None:
    far = StepOp(op="Sleep", id="x", name="9999-01-01T00:00:00Z")
    assert sleep_until(far, NOW) == NOW + MAX_SLEEP
    long = StepOp(op="Sleep", id="x", name="1000w")
    assert sleep_until(long, NOW) == NOW + MAX_SLEEP
    past = StepOp(op="Sleep", id="x", name="2001-01-01T00:00:00Z")
    assert sleep_until(past, NOW) == NOW


def test_date_only_and_naive_times_are_utc() -> None:
    assert parse_instant("2030-01-02") == datetime(2030, 1, 2, tzinfo=UTC)
    assert parse_instant("2030-01-02T03:04:05") == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_instant("30s") is None


def test_garbage_sleep_raises() -> None:
    with pytest.raises(EngineError, match="invalid sleep duration"):
        sleep_until(StepOp(op="Sleep", id="x", name="soon-ish"), NOW)


def test_format_instant_round_trips_milliseconds() -> None:
    when = datetime(2026, 11, 22, 6, 47, 40, 750000, tzinfo=UTC)
    assert format_instant(when) == "2026-11-22T06:47:40.750Z"
    assert parse_instant(format_instant(when)) == when
