from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """An accepted event.

    ``id`` is the ULID Headrace assigned; ``idempotency_key`` is the id the sender gave, if any
    (Inngest semantics: a repeated sender id within 24 hours starts no new runs).
    ``ts`` is milliseconds since the epoch.
    """

    id: str
    name: str
    data: dict[str, Any]
    ts: int
    user: dict[str, Any] = field(default_factory=dict)
    v: str | None = None
    idempotency_key: str | None = None

    def to_sdk(self) -> dict[str, Any]:
        """The event as the SDK wire protocol shows it to a function."""
        out: dict[str, Any] = {
            "data": self.data,
            "id": self.id,
            "name": self.name,
            "ts": self.ts,
            "user": self.user,
        }
        if self.v is not None:
            out["v"] = self.v
        return out
