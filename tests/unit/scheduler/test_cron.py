from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter
from hypothesis import given
from hypothesis import strategies as st

from services.core.errors import BadInput
from services.core.metrics import Metrics
from services.core.model import Function, Trigger
from services.scheduler.cron import (
    CronFirer,
    first_due,
    latest_tick,
    next_tick,
    parse_cron,
    scheduled_event_id,
)

EXPRESSIONS = [
    "* * * * *",
    "*/5 * * * *",
    "0 * * * *",
    "30 9 * * 1-5",
    "0 0 1 * *",
    "15 3 * * 0",
    "0 12 29 2 *",
    "@hourly",
    "@daily",
]

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


@given(expr=st.sampled_from(EXPRESSIONS), now=instants)
def test_next_tick_is_the_first_matching_minute_after_now(expr: str, now: datetime) -> None:
    spec = parse_cron(expr)
    tick = next_tick(spec, now)
    assert tick > now
    assert tick.tzinfo is not None and tick.utcoffset() == timedelta(0)
    assert tick.second == 0 and tick.microsecond == 0
    assert croniter.match(spec.fields, tick)
    prev = latest_tick(spec, now)
    assert prev <= now < tick
    assert next_tick(spec, prev) == tick


@given(now=instants)
def test_every_minute_ticks_on_the_next_minute(now: datetime) -> None:
    tick = next_tick(parse_cron("* * * * *"), now)
    assert timedelta(0) < tick - now <= timedelta(minutes=1)


def test_a_tick_exactly_now_is_not_the_next_one() -> None:
    spec = parse_cron("0 * * * *")
    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert next_tick(spec, now) == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    assert latest_tick(spec, now) == now


def test_tz_prefix_evaluates_in_that_zone() -> None:
    spec = parse_cron("TZ=Europe/Paris 0 9 * * *")
    winter = next_tick(spec, datetime(2024, 1, 10, 0, 0, tzinfo=UTC))
    summer = next_tick(spec, datetime(2024, 7, 10, 0, 0, tzinfo=UTC))
    assert winter == datetime(2024, 1, 10, 8, 0, tzinfo=UTC)
    assert summer == datetime(2024, 7, 10, 7, 0, tzinfo=UTC)
    assert parse_cron("CRON_TZ=America/New_York 0 9 * * *").tz.key == "America/New_York"
    assert spec.expr == "TZ=Europe/Paris 0 9 * * *"


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "* * * *",
        "61 * * * *",
        "* * * * * *",
        "not cron",
        "TZ=Mars/Olympus 0 9 * * *",
        "0 0 30 2 *",
        "@reboot",
    ],
)
def test_invalid_expressions_are_rejected(expr: str) -> None:
    with pytest.raises(BadInput):
        parse_cron(expr)


def test_only_the_most_recent_missed_tick_fires() -> None:
    spec = parse_cron("*/10 * * * *")
    now = datetime(2024, 5, 1, 12, 34, tzinfo=UTC)
    last = datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    assert first_due(spec, now, last) == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    # Nothing missed: the next tick.
    assert first_due(spec, now, datetime(2024, 5, 1, 12, 30, tzinfo=UTC)) == datetime(
        2024, 5, 1, 12, 40, tzinfo=UTC
    )
    # Never fired (a new function): no catch-up.
    assert first_due(spec, now, None) == datetime(2024, 5, 1, 12, 40, tzinfo=UTC)


def test_event_ids_are_stable_ulids_per_function_and_tick() -> None:
    tick = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    a = scheduled_event_id("app-fn", tick)
    assert a == scheduled_event_id("app-fn", tick)
    assert a != scheduled_event_id("app-other", tick)
    assert a != scheduled_event_id("app-fn", tick + timedelta(minutes=1))
    assert len(a) == 26
    assert a[:10] < scheduled_event_id("app-fn", tick + timedelta(minutes=1))[:10]


def _fn(fid: str, *crons: str) -> Function:
    return Function(
        id=fid,
        app_id="app",
        name=fid,
        url="http://app/api",
        triggers=tuple(Trigger(cron=c) for c in crons),
    )


def test_load_skips_invalid_triggers_and_counts_them_once() -> None:
    metrics = Metrics()
    firer = CronFirer(db=None, bus=None, topic="t", metrics=metrics)  # type: ignore[arg-type]
    now = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)
    fns = [
        _fn("app-a", "* * * * *", "bogus"),
        _fn("app-b", "0 * * * *"),
        Function(id="app-c", app_id="app", name="c", url="u", triggers=(Trigger(event="x"),)),
    ]
    firer.load(fns, {}, now)
    firer.load(fns, {}, now)
    assert [(e.function_id, e.spec.expr) for e in firer.entries] == [
        ("app-a", "* * * * *"),
        ("app-b", "0 * * * *"),
    ]
    assert firer.next_due() == datetime(2024, 5, 1, 12, 1, tzinfo=UTC)
    counted = metrics.dead_letters.labels("scheduler-cron")._value.get()
    assert counted == 1


def test_reload_keeps_a_pending_tick() -> None:
    firer = CronFirer(db=None, bus=None, topic="t", metrics=Metrics())  # type: ignore[arg-type]
    fns = [_fn("app-a", "* * * * *")]
    firer.load(fns, {}, datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC))
    # Functions changed right after 12:01 passed, before that tick fired: it still fires.
    firer.load(fns, {}, datetime(2024, 5, 1, 12, 1, 0, 5, tzinfo=UTC))
    assert firer.next_due() == datetime(2024, 5, 1, 12, 1, tzinfo=UTC)
