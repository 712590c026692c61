"""The engine's exceptions.

    EngineError             something the engine was given makes no sense (a garbage sleep
    │                       duration, a state that cannot be resumed); ``retriable`` is False
    └── IllegalTransition   a run-status move the state table forbids (a programming error)

The app's own failures (a 500, a step that raised) are not exceptions here: they are replies,
and ``decide`` turns them into decisions.
"""

from __future__ import annotations

from datetime import datetime


class EngineError(Exception):
    """Input the engine cannot make sense of."""

    retriable: bool = False
    retry_after: datetime | None = None


class IllegalTransition(EngineError):
    """A run-status move the state table in ``states.py`` does not allow."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(f"illegal run status transition {old} -> {new}")
        self.old = old
        self.new = new
