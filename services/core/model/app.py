from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Trigger:
    """An event trigger (``event`` set, optional CEL ``expression``) or a cron trigger."""

    event: str | None = None
    expression: str | None = None
    cron: str | None = None
    jitter: str | None = None

    def matches_name(self, name: str) -> bool:
        """Exact name, or a wildcard such as ``order/*`` matching any name with that prefix."""
        if self.event is None:
            return False
        if self.event.endswith("*"):
            return name.startswith(self.event[:-1])
        return self.event == name


@dataclass(frozen=True, slots=True)
class Function:
    """A registered function. ``id`` is the composite ``<app>-<fn>`` id used as ``fnId``."""

    id: str
    app_id: str
    name: str
    triggers: tuple[Trigger, ...]
    url: str
    retries: int = 4
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def max_attempts(self) -> int:
        return self.retries + 1


@dataclass(frozen=True, slots=True)
class App:
    id: str
    url: str
    sdk: str = ""
    framework: str = ""
    functions: tuple[Function, ...] = ()
    error: str | None = None
