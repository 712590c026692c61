"""Frozen value types shared by every service. No I/O lives here.

Event     an accepted event, as stored in Postgres and carried on Kafka
Trigger   what starts a function: an event name (maybe a wildcard) with an optional CEL
          expression, or a cron schedule
Function  a registered function: its composite id, app, triggers, retries and full config
App       a synced app: its URL and SDK
Run       one execution of a function, with its checkpointed progress
Step      one checkpointed step of a run
Job       the nudge on the jobs topic: "look at run R at generation G"
"""

from services.core.model.app import App, Function, Trigger
from services.core.model.event import Event
from services.core.model.run import Job, Run, RunStatus, Step, StepStatus

__all__ = [
    "App",
    "Event",
    "Function",
    "Job",
    "Run",
    "RunStatus",
    "Step",
    "StepStatus",
    "Trigger",
]
