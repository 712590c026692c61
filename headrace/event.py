"""Events as user code sees them."""

from __future__ import annotations

import dataclasses
import time
from typing import Any


@dataclasses.dataclass(frozen=True)
class Event:
    """An event: a name and a JSON object of data.

    >>> Event(name="order/created", data={"order_id": 7})
    Event(name='order/created', data={'order_id': 7}, id='', ts=0, user=None, v=None)
    """

    name: str
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    id: str = ""
    ts: int = 0
    user: dict[str, Any] | None = None
    v: str | None = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Event:
        data = obj.get("data")
        return cls(
            name=str(obj.get("name", "")),
            data=data if isinstance(data, dict) else {},
            id=obj.get("id") or "",
            ts=int(obj.get("ts") or 0),
            user=obj.get("user") or None,
            v=obj.get("v"),
        )

    def to_send(self) -> dict[str, Any]:
        """The object sent to ``/e/{key}``: ``id`` left out when empty, ``ts`` in ms."""
        out: dict[str, Any] = {
            "name": self.name,
            "data": self.data,
            "ts": self.ts or int(time.time() * 1000),
        }
        if self.id:
            out["id"] = self.id
        if self.user:
            out["user"] = self.user
        if self.v is not None:
            out["v"] = self.v
        return out
