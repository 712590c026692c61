from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class RunStatus(enum.StrEnum):
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def ended(self) -> bool:
        return self is not RunStatus.RUNNING


class StepStatus(enum.StrEnum):
    COMPLETED = "Completed"
    FAILED = "Failed"
    SLEEPING = "Sleeping"
    RETRYING = "Retrying"


@dataclass(frozen=True, slots=True)
class Step:
    """A step of a run as checkpointed.

    ``memo`` is exactly what goes back to the SDK in ``steps[step_id]``: ``{"data": …}`` for a
    step.run, ``{"error": …}`` for a failed step, ``None`` for a finished sleep.
    ``position`` orders steps in completion order (it is the index in the run's stack), or is
    ``None`` while the step is not finished (sleeping, retrying).
    """

    run_id: str
    step_id: str
    name: str
    op: str
    status: StepStatus
    attempts: int = 1
    memo: Any = None
    output: Any = None
    error: Any = None
    position: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Run:
    """One execution of a function.

    ``generation`` increases with every checkpoint; a job names the generation it was published
    for, and a job for an older generation is stale. ``lease_token`` is the fencing token of the
    current claim. ``target`` is the step id the next call targets (``"step"`` for discovery or a
    planned step's hash); ``planned`` lists planned steps still to run. ``wait`` describes what the
    run is waiting for (a sleep: ``{"kind": "sleep", "step_id", "name", "until"}``), if anything.
    """

    id: str
    function_id: str
    app_id: str
    event_ids: tuple[str, ...]
    status: RunStatus
    generation: int = 1
    attempt: int = 0
    max_attempts: int = 5
    stack: tuple[str, ...] = ()
    request_version: int = -1
    force_step_plan: bool = False
    target: str = "step"
    planned: tuple[str, ...] = ()
    planned_mode: str = "wait"
    wait: dict[str, Any] | None = None
    output: Any = None
    error: Any = None
    lease_token: int = 0
    not_before: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Job:
    """The record on the jobs topic: look at ``run_id`` as of ``generation``."""

    run_id: str
    generation: int
