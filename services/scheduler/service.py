"""The scheduler service: one leader fires due timers and cron ticks; the rest stand by.

The leader's loop: fire every due timer (a job per run) and every due cron tick (an event),
then sleep until the earlier of the next ``wake_at`` and the next tick, woken early by
``NOTIFY`` on ``headrace_wake`` (a timer earlier than the target) or ``headrace_functions``
(functions changed, so cron triggers are reloaded). Nothing is queried while idle.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg

from services.core.errors import BusError, StoreError
from services.core.service import Deps, Service
from services.core.store import FUNCTIONS_CHANNEL, WAKE_CHANNEL, RunStore, lease_owner_prefix
from services.scheduler.cron import CronFirer
from services.scheduler.leader import SCHEDULER_LOCK, LeaderLock, release
from services.scheduler.timers import TimerFirer, Wake, earliest, wait

log = logging.getLogger(__name__)


class SchedulerService(Service):
    """Cron, durable timers and lease expiry.

    ``recover_on_start`` makes every run that is not sleeping due when this replica becomes
    leader, releasing leases held outside this process; the dev server sets it because its
    broker keeps jobs in memory only and it is the only process working on its runs.

    Example::

        scheduler = SchedulerService(deps, recover_on_start=True)
    """

    name = "scheduler"

    def __init__(
        self,
        deps: Deps,
        *,
        recover_on_start: bool = False,
        lock_key: int = SCHEDULER_LOCK,
        retry_seconds: float = 2.0,
    ) -> None:
        super().__init__(deps)
        s = deps.settings
        self.recover_on_start = recover_on_start
        self.retry_seconds = retry_seconds
        self.runs = RunStore(deps.db)
        self.lock = LeaderLock(deps.db, lock_key)
        self.timers = TimerFirer(
            self.runs, deps.bus, s.jobs_topic, s.redeliver_seconds, deps.metrics
        )
        self.cron = CronFirer(deps.db, deps.bus, s.events_topic, deps.metrics)
        self.leading = False
        self.became_leader = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                conn = await self.lock.acquire()
            except StoreError as exc:
                log.warning("scheduler: %s; retrying", exc)
                await asyncio.sleep(self.retry_seconds)
                continue
            try:
                self._set_leading(True)
                log.info("scheduler: leading")
                await self._lead(conn)
            except (StoreError, BusError, psycopg.Error) as exc:
                log.warning("scheduler: stepping down after an error: %s", exc)
            finally:
                self._set_leading(False)
                await release(conn)
            await asyncio.sleep(self.retry_seconds)

    async def _lead(self, conn: psycopg.AsyncConnection[Any]) -> None:
        clock = self.deps.clock
        # LISTEN before reading anything, so no write between the read and the LISTEN is missed.
        await conn.execute(f"LISTEN {WAKE_CHANNEL}")
        await conn.execute(f"LISTEN {FUNCTIONS_CHANNEL}")
        if self.recover_on_start:
            # Leases not held in this process belonged to the process before it, which died.
            n = await self.runs.wake_all_now(live_owner_prefix=lease_owner_prefix())
            log.info("scheduler: made %d run(s) due after a restart", n)
        await self.cron.reload(clock.now())
        while True:
            fired = await self.timers.fire()
            fired += await self.cron.fire(clock.now())
            target = earliest(await self.timers.next_wake(), self.cron.next_due())
            reason = await wait(conn, target, clock, progressed=fired > 0)
            if reason is Wake.FUNCTIONS:
                await self.cron.reload(clock.now())

    def _set_leading(self, leading: bool) -> None:
        self.leading = leading
        self.deps.metrics.leader.set(1 if leading else 0)
        if leading:
            self.became_leader.set()
        else:
            self.became_leader.clear()
