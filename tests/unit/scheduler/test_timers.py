from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.core.store import FUNCTIONS_CHANNEL, WAKE_CHANNEL
from services.scheduler.timers import DUE_BACKOFF, Wake, earliest, next_sleep, woken

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def ms(t: datetime) -> str:
    return str(int(t.timestamp() * 1000))


def test_nothing_scheduled_sleeps_until_notified() -> None:
    assert next_sleep(None, NOW, progressed=False) is None


def test_sleeps_until_the_target() -> None:
    assert next_sleep(NOW + timedelta(seconds=2.5), NOW, progressed=False) == 2.5


def test_a_due_target_runs_again_at_once_only_after_progress() -> None:
    assert next_sleep(NOW - timedelta(seconds=1), NOW, progressed=True) == 0.0
    # Due but nothing fired (locked rows, clock skew): back off instead of spinning.
    assert next_sleep(NOW, NOW, progressed=False) == DUE_BACKOFF


@given(st.integers(min_value=-(10**6), max_value=10**9), st.booleans())
def test_sleep_is_never_negative(delta_ms: int, progressed: bool) -> None:
    seconds = next_sleep(NOW + timedelta(milliseconds=delta_ms), NOW, progressed)
    assert seconds is not None and seconds >= 0


def test_earliest() -> None:
    a, b = NOW, NOW + timedelta(seconds=1)
    assert earliest(None, None) is None
    assert earliest(b, None) == b
    assert earliest(b, a) == a


def test_an_earlier_wake_time_wakes_early() -> None:
    target = NOW + timedelta(minutes=10)
    assert woken(target, [(WAKE_CHANNEL, ms(NOW + timedelta(seconds=1)))]) is Wake.EARLIER


def test_a_later_or_equal_wake_time_keeps_sleeping() -> None:
    target = NOW + timedelta(minutes=10)
    notes = [(WAKE_CHANNEL, ms(target)), (WAKE_CHANNEL, ms(target + timedelta(hours=1)))]
    assert woken(target, notes) is None


def test_any_wake_time_wakes_a_sleeper_with_no_target() -> None:
    assert woken(None, [(WAKE_CHANNEL, ms(NOW + timedelta(days=3)))]) is Wake.EARLIER


def test_one_earlier_time_in_a_burst_is_enough() -> None:
    target = NOW + timedelta(minutes=10)
    notes = [(WAKE_CHANNEL, ms(target + timedelta(seconds=i))) for i in range(100)]
    notes.insert(50, (WAKE_CHANNEL, ms(NOW)))
    assert woken(target, notes) is Wake.EARLIER


def test_function_changes_take_precedence() -> None:
    notes = [(WAKE_CHANNEL, ms(NOW)), (FUNCTIONS_CHANNEL, "app")]
    assert woken(NOW + timedelta(minutes=1), notes) is Wake.FUNCTIONS


def test_unreadable_payload_wakes_to_read_the_table() -> None:
    assert woken(NOW + timedelta(minutes=1), [(WAKE_CHANNEL, "garbage")]) is Wake.EARLIER


def test_other_channels_are_ignored() -> None:
    assert woken(NOW, [("elsewhere", "1")]) is None


@given(target_ms=st.integers(0, 4 * 10**12), at_ms=st.integers(0, 4 * 10**12))
def test_wakes_exactly_when_earlier(target_ms: int, at_ms: int) -> None:
    target = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=target_ms)
    expected = Wake.EARLIER if at_ms < target_ms else None
    assert woken(target, [(WAKE_CHANNEL, str(at_ms))]) is expected
