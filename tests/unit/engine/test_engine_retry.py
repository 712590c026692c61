"""Backoff: a seeded rng and a fake clock, never a real sleep."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.engine import RetryPolicy

NOW = datetime(2030, 1, 1, tzinfo=UTC)

policies = st.builds(
    RetryPolicy,
    base=st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=5)),
    factor=st.floats(min_value=1.0, max_value=10.0),
    cap=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1)),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)


@given(policy=policies, attempt=st.integers(min_value=0, max_value=10_000), seed=st.integers())
def test_delay_is_within_zero_and_jittered_cap(
    policy: RetryPolicy, attempt: int, seed: int
) -> None:
    delay = policy.delay(attempt, random.Random(seed))
    nominal = policy.nominal(attempt)
    assert timedelta(0) <= delay
    assert delay <= policy.cap * (1 + policy.jitter) + timedelta(microseconds=1)
    assert delay <= nominal * (1 + policy.jitter) + timedelta(microseconds=1)
    assert delay >= nominal * (1 - policy.jitter) - timedelta(microseconds=1)


@given(policy=policies, attempt=st.integers(min_value=0, max_value=10_000))
def test_nominal_delay_never_decreases(policy: RetryPolicy, attempt: int) -> None:
    assert policy.nominal(attempt) <= policy.nominal(attempt + 1) <= policy.cap


def test_production_schedule_is_roughly_inngest_like() -> None:
    policy = RetryPolicy.production()
    seconds = [policy.nominal(n).total_seconds() for n in range(8)]
    assert seconds[:3] == [10.0, 25.0, 62.5]
    assert seconds[-1] == 3600.0


def test_dev_schedule_is_short() -> None:
    policy = RetryPolicy.dev()
    assert [policy.nominal(n).total_seconds() for n in range(5)] == [1, 2, 4, 5, 5]


def test_seeded_rng_gives_the_same_schedule() -> None:
    policy = RetryPolicy.production()
    first = [policy.retry_at(n, NOW, random.Random(7)) for n in range(6)]
    again = [policy.retry_at(n, NOW, random.Random(7)) for n in range(6)]
    assert first == again
    assert all(NOW < when <= NOW + timedelta(hours=1.2) for when in first)


def test_retry_after_wins_and_is_clamped() -> None:
    policy = RetryPolicy.production()
    rng = random.Random(1)
    soon = NOW + timedelta(seconds=1)
    assert policy.retry_at(0, NOW, rng, soon) == soon
    assert policy.retry_at(0, NOW, rng, NOW - timedelta(hours=1)) == NOW
    assert policy.retry_at(0, NOW, rng, NOW + timedelta(days=30)) == NOW + timedelta(days=7)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": timedelta(seconds=-1)},
        {"factor": 0.5},
        {"jitter": 1.5},
    ],
)
def test_invalid_policies_are_rejected(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "base": timedelta(seconds=1),
        "factor": 2.0,
        "cap": timedelta(seconds=5),
        "jitter": 0.1,
    }
    fields.update(kwargs)
    with pytest.raises(ValueError):
        RetryPolicy(**fields)  # type: ignore[arg-type]
