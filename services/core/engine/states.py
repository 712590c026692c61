"""The run-status state machine, as a table.

A run starts ``Running`` and ends exactly once, in ``Completed``, ``Failed`` or ``Cancelled``.
Nothing leaves an ended state: a reply arriving for a run cancelled while its app call was in
flight changes nothing (wire protocol §15).
"""

from __future__ import annotations

from services.core.engine.errors import IllegalTransition
from services.core.model import RunStatus

# old status -> the statuses it may move to (staying Running is a move: a step checkpoint).
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.RUNNING: frozenset(
        {RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}
    ),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}


def can_transition(old: RunStatus, new: RunStatus) -> bool:
    """Whether the table allows ``old -> new``."""
    return new in TRANSITIONS[old]


def transition(old: RunStatus, new: RunStatus) -> RunStatus:
    """Return ``new`` if the move is allowed, else raise ``IllegalTransition``.

    >>> transition(RunStatus.RUNNING, RunStatus.COMPLETED)
    <RunStatus.COMPLETED: 'Completed'>
    """
    if not can_transition(old, new):
        raise IllegalTransition(old.value, new.value)
    return new
