"""The scheduler: cron ticks become events, due timers and expired leases become jobs.

One replica leads at a time (a Postgres session advisory lock); the others wait on that lock
and take over the moment the leader's session ends.
"""

from services.scheduler.service import SchedulerService

__all__ = ["SchedulerService"]
