from __future__ import annotations

import datetime as dt

import pytest

from headrace.protocol import parse_retry_after

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_seconds() -> None:
    assert parse_retry_after("5", NOW) == NOW + dt.timedelta(seconds=5)
    assert parse_retry_after("1.5", NOW) == NOW + dt.timedelta(seconds=1.5)


def test_iso_time_as_the_python_sdk_sends_it() -> None:
    assert parse_retry_after("2030-01-01T00:00:00.000Z", NOW) == dt.datetime(
        2030, 1, 1, tzinfo=dt.UTC
    )


def test_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW) == dt.datetime(
        2015, 10, 21, 7, 28, tzinfo=dt.UTC
    )


@pytest.mark.parametrize("value", [None, "", "soon", "nan"])
def test_unreadable(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None
