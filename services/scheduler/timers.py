"""Durable timers: sleep until the earliest due time, wake early on ``NOTIFY``, publish jobs.

``runs.wake_at`` is the one timer column (sleep ends, retry backoff, lease expiry, redelivery
deadlines). Every write that sets it notifies ``headrace_wake`` with the wake time in epoch
milliseconds, so the leader never polls: it sleeps until its target and is woken only by a
notification for an earlier time (or a function change, which may move cron ticks).

The decisions are pure functions (``next_sleep``, ``woken``) so they can be tested without a
database; ``wait`` and ``TimerFirer`` do the I/O.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from services.core.bus import Bus
from services.core.clock import Clock
from services.core.codec import encode_job
from services.core.metrics import Metrics
from services.core.store import FUNCTIONS_CHANNEL, WAKE_CHANNEL, RunStore

log = logging.getLogger(__name__)

# When something is due but nothing could be fired (rows locked by a claim in flight, or this
# host's clock ahead of the database's), wait this long instead of spinning.
DUE_BACKOFF = 0.1

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Wake(enum.Enum):
    TIMEOUT = "timeout"  # the target time came
    EARLIER = "earlier"  # a timer earlier than the target was written
    FUNCTIONS = "functions"  # functions changed: reload cron triggers


def epoch_ms(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(milliseconds=1)


def earliest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def next_sleep(target: datetime | None, now: datetime, progressed: bool) -> float | None:
    """Seconds to sleep before the next round; ``None`` means until notified.

    ``progressed`` says the last round fired something; when it did not and the target is
    already due, sleep ``DUE_BACKOFF`` rather than looping hot.
    """
    if target is None:
        return None
    seconds = (target - now).total_seconds()
    if seconds > 0:
        return seconds
    return 0.0 if progressed else DUE_BACKOFF


def woken(target: datetime | None, notes: Iterable[tuple[str, str]]) -> Wake | None:
    """What a batch of (channel, payload) notifications means for a sleeper aiming at ``target``.

    ``None``: keep sleeping (every wake time named is at or after the target).
    """
    target_ms = None if target is None else epoch_ms(target)
    result: Wake | None = None
    for channel, payload in notes:
        if channel == FUNCTIONS_CHANNEL:
            return Wake.FUNCTIONS
        if channel != WAKE_CHANNEL:
            continue
        try:
            at_ms = int(payload)
        except ValueError:
            result = Wake.EARLIER  # unreadable: look at the table, it is the truth
            continue
        if target_ms is None or at_ms < target_ms:
            result = Wake.EARLIER
    return result


async def wait(
    conn: psycopg.AsyncConnection[Any], target: datetime | None, clock: Clock, progressed: bool
) -> Wake:
    """Block on ``conn``'s notifications until the target time or a reason to wake early."""
    while True:
        timeout = next_sleep(target, clock.now(), progressed)
        notes = await _notifications(conn, timeout, stop_after=1)
        if not notes:
            return Wake.TIMEOUT
        # A burst (a batch of checkpoints) arrives together: take everything already queued.
        notes += await _notifications(conn, 0.0, stop_after=None)
        reason = woken(target, notes)
        if reason is not None:
            return reason
        progressed = True  # time moved on; recompute the remaining sleep without backoff


async def _notifications(
    conn: psycopg.AsyncConnection[Any], seconds: float | None, stop_after: int | None
) -> list[tuple[str, str]]:
    gen = conn.notifies(timeout=seconds, stop_after=stop_after)
    async with contextlib.aclosing(gen):
        return [(n.channel, n.payload) async for n in gen]


class TimerFirer:
    """Publishes a job for every run whose ``wake_at`` passed."""

    def __init__(
        self,
        runs: RunStore,
        bus: Bus,
        topic: str,
        redeliver_seconds: float,
        metrics: Metrics,
        *,
        batch: int = 1000,
    ) -> None:
        self.runs = runs
        self.bus = bus
        self.topic = topic
        self.redeliver_seconds = redeliver_seconds
        self.metrics = metrics
        self.batch = batch

    async def fire(self) -> int:
        """Fire everything due, in batches. Returns how many jobs were published.

        ``fire_due`` pushes each run's wake time out by ``redeliver_seconds`` before the jobs
        are sent, so a job lost in a crash right here is sent again then.
        """
        total = 0
        while True:
            jobs = await self.runs.fire_due(self.redeliver_seconds, self.batch)
            if jobs:
                await self.bus.send_many(
                    self.topic, [(job.run_id, encode_job(job)) for job in jobs]
                )
                self.metrics.wakeups.inc(len(jobs))
                total += len(jobs)
            if len(jobs) < self.batch:
                return total

    async def next_wake(self) -> datetime | None:
        return await self.runs.next_wake()
