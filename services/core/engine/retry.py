"""Backoff between attempts.

Exponential with jitter: attempt ``n`` (zero-based, the attempt that just failed) waits about
``base * factor**n``, capped at ``cap``, then moved by up to ``±jitter`` of itself. A
``Retry-After`` from the app replaces the schedule, clamped to at most seven days ahead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_RETRY_AFTER = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A backoff schedule.

    >>> RetryPolicy.dev().nominal(0)
    datetime.timedelta(seconds=1)
    """

    base: timedelta
    factor: float
    cap: timedelta
    jitter: float

    def __post_init__(self) -> None:
        if self.base < timedelta(0) or self.cap < timedelta(0):
            raise ValueError("base and cap must not be negative")
        if self.factor < 1.0:
            raise ValueError("factor must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be within [0, 1]")

    @classmethod
    def production(cls) -> RetryPolicy:
        """About 10 s, 25 s, 1 min, 2.5 min, 6.5 min, ... up to an hour."""
        return cls(base=timedelta(seconds=10), factor=2.5, cap=timedelta(hours=1), jitter=0.2)

    @classmethod
    def dev(cls) -> RetryPolicy:
        """1 s, 2 s, 4 s, then 5 s: SDK test suites expect quick retries."""
        return cls(base=timedelta(seconds=1), factor=2.0, cap=timedelta(seconds=5), jitter=0.1)

    def nominal(self, attempt: int) -> timedelta:
        """The delay before jitter: non-decreasing in ``attempt``, at most ``cap``."""
        cap = self.cap.total_seconds()
        try:
            seconds = self.base.total_seconds() * self.factor ** max(attempt, 0)
        except OverflowError:
            seconds = cap
        return timedelta(seconds=min(seconds, cap))

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """The jittered delay after attempt ``attempt`` failed; within [0, cap * (1 + jitter)]."""
        nominal = self.nominal(attempt).total_seconds()
        spread = rng.uniform(-self.jitter, self.jitter)
        return timedelta(seconds=max(0.0, nominal * (1.0 + spread)))

    def retry_at(
        self,
        attempt: int,
        now: datetime,
        rng: random.Random,
        retry_after: datetime | None = None,
    ) -> datetime:
        """When to try again. A ``Retry-After`` wins, clamped to [now, now + 7 days]."""
        if retry_after is not None:
            return max(now, min(retry_after, now + MAX_RETRY_AFTER))
        return now + self.delay(attempt, rng)
