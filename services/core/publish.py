"""Putting events on the events topic: the one path every producer inside Headrace takes.

The ingest gateway uses it for events sent over HTTP; the executor and scheduler use it for the
internal ones (``inngest/function.finished``, ``inngest/function.failed``, cron ticks). The key
of each record is the event's idempotency key when it has one, so a repeated sender id lands on
the same partition as the first, and otherwise its id.
"""

from __future__ import annotations

from collections.abc import Sequence

from ulid import ULID

from services.core.bus import Bus
from services.core.codec import encode_event
from services.core.model import Event


def new_event_id() -> str:
    """A fresh event id: a ULID, so ids sort by the time they were assigned."""
    return str(ULID())


async def publish_events(bus: Bus, topic: str, events: Sequence[Event], now_ms: int) -> None:
    """Encode ``events`` as Avro and return once Kafka acknowledged every one of them.

    ``now_ms`` becomes each record's ``received_at``. Raises ``BusError`` when Kafka did not
    accept them; the caller must then treat none of them as accepted.

    Example::

        await publish_events(bus, settings.events_topic, [event], now_ms=1_700_000_000_000)
    """
    if not events:
        return
    records = [(ev.idempotency_key or ev.id, encode_event(ev, now_ms)) for ev in events]
    await bus.send_many(topic, records)
